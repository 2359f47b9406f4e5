// Package deploy holds no code: it is the home of the deployment files
// (the Dockerfile, deploy/compose, deploy/kubernetes, deploy/observability)
// and of the tests that check them: the image built from a host binary
// runs as a non-root user with a writable /data and a non-empty TLS trust
// store, the compose file is valid for docker-compose, and the Kubernetes
// manifests decode strictly into the API types and agree with each other.
package deploy
