package embeddedtemporal

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
)

// endpoint is a parsed listen address.
type endpoint struct {
	what string // "temporal frontend", "temporal ui": used in error messages
	raw  string // as given by the caller
	ip   net.IP // address to bind on (may be unspecified, e.g. 0.0.0.0)
	port int    // 0 = pick a free port
}

// parseEndpoint parses host:port. An empty host means all interfaces (0.0.0.0), "localhost"
// means 127.0.0.1; any other host must be an IP address (the Temporal server binds on IPs only).
func parseEndpoint(what, addr string) (endpoint, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return endpoint{}, fmt.Errorf("%s address %q: want host:port, e.g. 127.0.0.1:7233", what, addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return endpoint{}, fmt.Errorf("%s address %q: invalid port %q", what, addr, portStr)
	}
	var ip net.IP
	switch host {
	case "":
		ip = net.IPv4zero
	case "localhost":
		ip = net.IPv4(127, 0, 0, 1)
	default:
		ip = net.ParseIP(host)
		if ip == nil {
			return endpoint{}, fmt.Errorf("%s address %q: host must be an IP address (or localhost)", what, addr)
		}
	}
	return endpoint{what: what, raw: addr, ip: ip, port: port}, nil
}

// bindAddr is the host:port to listen on.
func (e endpoint) bindAddr() string {
	return net.JoinHostPort(e.ip.String(), strconv.Itoa(e.port))
}

// dialHost is the host clients in this process (and the UI) use: loopback when bound on all
// interfaces, the bind IP otherwise.
func (e endpoint) dialHost() string {
	if e.ip.IsUnspecified() {
		if e.ip.To4() == nil {
			return "::1"
		}
		return "127.0.0.1"
	}
	return e.ip.String()
}

func (e endpoint) dialAddr() string {
	return net.JoinHostPort(e.dialHost(), strconv.Itoa(e.port))
}

// listen binds the endpoint. With port 0 the chosen port is stored in e.port. The error is
// one sentence naming the address, e.g. "temporal frontend 127.0.0.1:7233: address already in use".
func (e *endpoint) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", e.bindAddr())
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", e.what, e.raw, listenCause(err))
	}
	e.port = ln.Addr().(*net.TCPAddr).Port
	return ln, nil
}

// listenCause strips "listen tcp 1.2.3.4:5: bind:" from a net.Listen error, keeping the errno
// (so errors.Is(err, syscall.EADDRINUSE) still works).
func listenCause(err error) error {
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		var sysErr *os.SyscallError
		if errors.As(opErr.Err, &sysErr) {
			return sysErr.Err
		}
		return opErr.Err
	}
	return err
}

// freeLoopbackPorts reserves n distinct free ports on 127.0.0.1 for the server's internal
// services. The listeners are returned open; close them right before the server binds.
func freeLoopbackPorts(n int) ([]int, []net.Listener, error) {
	ports := make([]int, 0, n)
	lns := make([]net.Listener, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			closeAll(lns)
			return nil, nil, fmt.Errorf("reserving a port on 127.0.0.1 for the temporal server: %w", listenCause(err))
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, lns, nil
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		if ln != nil {
			_ = ln.Close()
		}
	}
}
