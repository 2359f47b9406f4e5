# The fault suite's image (internal/faulttest): the static mms binary the
# test builds (CGO_ENABLED=0) into its build context, nothing else. No base
# image is pulled. The tests run it as the host user so that containers and
# the test share the SQLite database on a bind mount.
FROM scratch
COPY mms /mms
USER 65534:65534
WORKDIR /data
ENTRYPOINT ["/mms"]
CMD ["--help"]
