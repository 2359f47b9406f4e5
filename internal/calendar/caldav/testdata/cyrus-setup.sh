#!/bin/sh
# Starts a Cyrus IMAP CalDAV server with RFC 6638 scheduling on 127.0.0.1:8008
# and an OpenSMTPD on 127.0.0.1:2525 that delivers every message it gets
# (Cyrus's iMIP for external attendees) into one maildir. Needs root and
#   apt-get install -y cyrus-imapd cyrus-caldav cyrus-admin sasl2-bin opensmtpd
# Usage: cyrus-setup.sh start|stop [DIR]   (DIR default /tmp/mms-cyrus)
# After start, run the tests with the printed environment:
#   MMS_CYRUS_URL=http://127.0.0.1:8008/dav/ MMS_CYRUS_MAILDIR=$DIR/Maildir
# Users alice and bob (password <name>pw), mailboxes user/alice, user/bob.
set -eu
cmd=${1:-start}
D=${2:-/tmp/mms-cyrus}
CY=/usr/lib/cyrus/bin

stop() {
	[ -f "$D/master.pid" ] && kill "$(cat "$D/master.pid")" 2>/dev/null || true
	[ -f "$D/smtpd.pid" ] && kill "$(cat "$D/smtpd.pid")" 2>/dev/null || true
	sleep 1
}

if [ "$cmd" = stop ]; then
	stop
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "cyrus-setup.sh: needs root" >&2; exit 1; }
stop
rm -rf "$D"
mkdir -p "$D/conf/socket" "$D/conf/proc" "$D/spool" "$D/Maildir/new" "$D/Maildir/cur" "$D/Maildir/tmp" /run/cyrus/proc

cat >"$D/imapd.conf" <<EOF
configdirectory: $D/conf
defaultpartition: default
partition-default: $D/spool
servername: localhost
unixhierarchysep: yes
admins: admin
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $D/sasldb2
sasl_mech_list: PLAIN
allowplaintext: yes
httpmodules: caldav
httpallowcompress: no
caldav_allowscheduling: on
caldav_realm: localhost
calendar_user_address_set: example.com
idlesocket: $D/conf/socket/idle
lmtpsocket: $D/conf/socket/lmtp
smtp_backend: host
smtp_host: 127.0.0.1:2525
syslog_prefix: mms-cyrus
EOF

cat >"$D/cyrus.conf" <<EOF
START {
  recover cmd="ctl_cyrusdb -r -C $D/imapd.conf"
}
SERVICES {
  imap cmd="imapd -C $D/imapd.conf" listen="127.0.0.1:1143" prefork=0
  http cmd="httpd -C $D/imapd.conf" listen="127.0.0.1:8008" prefork=0
}
EVENTS {
  checkpoint cmd="ctl_cyrusdb -c -C $D/imapd.conf" period=30
}
EOF

for u in admin alice bob; do
	echo "${u}pw" | saslpasswd2 -p -c -f "$D/sasldb2" -u localhost "$u"
done
chown -R cyrus:mail "$D" /run/cyrus
chmod 640 "$D/sasldb2"

"$CY/master" -C "$D/imapd.conf" -M "$D/cyrus.conf" -p "$D/master.pid" -d

cat >"$D/virtuals" <<EOF
@ nobody
EOF
cat >"$D/smtpd.conf" <<EOF
table catchall file:$D/virtuals
listen on 127.0.0.1 port 2525
action "md" maildir "$D/Maildir" virtual <catchall>
match from local for any action "md"
EOF
chmod 644 "$D/smtpd.conf" "$D/virtuals"
chown -R nobody "$D/Maildir"
smtpd -f "$D/smtpd.conf" -n
smtpd -f "$D/smtpd.conf"
sleep 1
pgrep -n -f "smtpd -f $D/smtpd.conf" >"$D/smtpd.pid" || true

# Wait for the services, then create the mailboxes.
i=0
until perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new("127.0.0.1:8008") && IO::Socket::INET->new("127.0.0.1:1143") ? 0 : 1)'; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "cyrus did not start" >&2; exit 1; }
	sleep 0.2
done
perl -MCyrus::IMAP::Admin -e '
	my $c = Cyrus::IMAP::Admin->new("127.0.0.1", 1143) or die "connect";
	$c->authenticate(-user => "admin", -password => "adminpw", -mechanism => "PLAIN") or die "auth: " . $c->error;
	for my $u ("alice", "bob") { $c->create("user/$u") or die "create user/$u: " . $c->error; }'
echo "MMS_CYRUS_URL=http://127.0.0.1:8008/dav/"
echo "MMS_CYRUS_MAILDIR=$D/Maildir"
