package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// NginxPath returns the nginx binary: TEST_NGINX (which `make test` sets),
// else Debian's /usr/sbin/nginx, else nginx on PATH. Without one the test
// is Missing.
func NginxPath(t TB) string {
	t.Helper()
	if p := os.Getenv("TEST_NGINX"); p != "" {
		if err := executable(p); err != nil {
			Missing(t, fmt.Sprintf("nginx (TEST_NGINX: %v)", err))
		}
		return p
	}
	if executable("/usr/sbin/nginx") == nil {
		return "/usr/sbin/nginx"
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	Missing(t, "nginx (TEST_NGINX; `.ci/services nginx` installs it)")
	return ""
}

// StartNginx runs nginx with config, the content of its http block: the
// test's server blocks (and whatever else belongs in http, such as
// upstreams), which listen on 127.0.0.1:{{PORT}}. StartNginx replaces every
// {{PORT}} with a free port, waits until nginx accepts connections there,
// stops it in Cleanup, and returns its address, "127.0.0.1:PORT":
//
//	addr := testenv.StartNginx(t, `
//	server {
//		listen 127.0.0.1:{{PORT}};
//		location / { auth_request /auth; proxy_pass http://`+app+`; }
//		location = /auth { internal; proxy_pass http://`+auth+`; }
//	}`)
//
// The rest of nginx.conf is StartNginx's: one process (master_process off:
// no workers, so nothing switches to the nobody user when running as root,
// and one pid to stop), its pid file and temporary directories in a
// directory of its own that is removed afterwards, and its error log and
// access log on its output, which the failure message (or, when the test
// fails later, Cleanup) prints.
func StartNginx(t TB, config string) string {
	t.Helper()
	if !strings.Contains(config, PortPlaceholder) {
		t.Fatalf("nginx config: no %s to listen on", PortPlaceholder)
	}
	bin := NginxPath(t)
	dir, err := os.MkdirTemp("", "approvald-nginx-")
	if err != nil {
		t.Fatalf("nginx: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) }) // runs after the Cleanup that stops nginx
	conf, pid := filepath.Join(dir, "nginx.conf"), filepath.Join(dir, "nginx.pid")
	addr := startOnFreePort(t, "nginx", func(port int) *exec.Cmd {
		text := nginxConf(dir, strings.ReplaceAll(config, PortPlaceholder, strconv.Itoa(port)))
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatalf("nginx: %v", err)
		}
		_ = os.Remove(pid)
		// -e: the error log before nginx.conf is read; -p: relative paths.
		return exec.Command(bin, "-p", dir, "-c", conf, "-e", "stderr", "-g", "daemon off;")
	}, func(addr string) bool {
		// nginx listens on each socket as it binds it, and keeps trying
		// for 2.5 s a port that another process holds: a connection is
		// accepted before nginx is ready, or while it is about to give up.
		// It writes its pid file once every socket is bound.
		if b, err := os.ReadFile(pid); err != nil || len(b) == 0 {
			return false
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return addr
}

// nginxConf is a whole nginx.conf around http, the test's http content.
func nginxConf(dir, http string) string {
	return fmt.Sprintf(`# written by testenv.StartNginx
master_process off;
pid "%[1]s/nginx.pid";
error_log stderr notice;
events { worker_connections 256; }
http {
	access_log /dev/stderr;
	default_type application/octet-stream;
	client_body_temp_path "%[1]s/client_body";
	proxy_temp_path "%[1]s/proxy";
	fastcgi_temp_path "%[1]s/fastcgi";
	uwsgi_temp_path "%[1]s/uwsgi";
	scgi_temp_path "%[1]s/scgi";

%[2]s
}
`, dir, http)
}
