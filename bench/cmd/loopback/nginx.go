package main

import (
	"os"
	"path/filepath"
	"strings"
)

// nginxConf is nginx's configuration: one worker (as root, so it can use
// the temporary directory), the access log off, sendfile on as in Debian's
// default configuration, and proxy_cache in front of a keep-alive upstream.
// Keep-alive connections are never closed for their request count (nginx
// closes them after 1000 requests by default, which a Go server does not).
// Every path nginx writes is in the temporary directory DIR.
//
// tcp_nopush is off, unlike Debian's default configuration: with it on,
// nginx 1.22 uncorks a keep-alive connection without ever setting
// TCP_NODELAY on it (strace shows no such setsockopt), and on loopback each
// 64 KiB response then waited about 40 ms (a delayed ACK) for the client's
// next request: 15–20 requests per second on one connection instead of
// thousands. With it off, nginx sets TCP_NODELAY after the first response,
// as Go's net/http does on every connection.
const nginxConf = `daemon off;
master_process on;
worker_processes 1;
user root;
pid DIR/nginx.pid;
error_log DIR/error.log warn;

events {
    worker_connections 1024;
}

http {
    access_log off;
    sendfile on;
    tcp_nopush off;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 1000000;

    client_body_temp_path DIR/client_body;
    proxy_temp_path DIR/proxy_temp;
    fastcgi_temp_path DIR/fastcgi_temp;
    uwsgi_temp_path DIR/uwsgi_temp;
    scgi_temp_path DIR/scgi_temp;
    proxy_cache_path DIR/cache levels=1:2 keys_zone=bench:10m max_size=1g inactive=1h use_temp_path=off;

    upstream origin {
        server ORIGIN;
        keepalive 32;
        keepalive_requests 1000000;
    }

    server {
        listen LISTEN;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;
        }
    }
}
`

// writeNginxConf writes nginx.conf into dir for nginx listening on listen
// in front of the origin at origin, and returns its path.
func writeNginxConf(dir, listen, origin string) (string, error) {
	conf := strings.NewReplacer("DIR", dir, "ORIGIN", origin, "LISTEN", listen).Replace(nginxConf)
	path := filepath.Join(dir, "nginx.conf")
	return path, os.WriteFile(path, []byte(conf), 0o644)
}
