/* SPDX-License-Identifier: MIT */
/*
 * The OSTree package manager (pm_ostree.c) against real libostree: an
 * archive repository with four commits served by python3 -m http.server on
 * 127.0.0.1, and a physical sysroot with commit 1 deployed, built once with
 * the ostree CLI on a tmpfs (libostree freezes the file system of /boot when
 * it writes deployments; on tmpfs that is a no-op). Each test gets a fresh
 * copy of the sysroot. A boot into a deployment is simulated in a child in
 * its own mount namespace, chrooted into the deployment, so that libostree
 * itself finds it booted.
 *
 * Needs root (mount, chroot), ostree and python3: skipped (77) otherwise.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uptane/hash.h"
#include "package_manager.h"

#define OSNAME "test-os"
#define BULK_FILES 2000 /* commit 3: a pull long enough to cut half-way */

static char work[256];
static char commits[5][65]; /* 1..4 */
static char url[64], stalling_url[64]; /* the latter never sends a file object */
static pid_t http_pid = -1, stalling_pid = -1;

/* --- Helpers --------------------------------------------------------------------------------------- */

static const char *path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *path(const char *fmt, ...) {
        static char p[8][1200];
        static int i;
        char tail[900];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(tail, sizeof(tail), fmt, ap);
        va_end(ap);
        i = (i + 1) % 8;
        snprintf(p[i], sizeof(p[i]), "%s/%s", work, tail);
        return p[i];
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...) {
        char cmd[4096];
        va_list ap;
        int status;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        status = system(cmd);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool exists(const char *p) {
        return access(p, F_OK) == 0;
}

static int count_entries(const char *dir, const char *suffix) {
        DIR *d = opendir(dir);
        struct dirent *e;
        int n = 0;

        if (!d)
                return -1;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.' && strlen(e->d_name) > strlen(suffix) &&
                    strcmp(e->d_name + strlen(e->d_name) - strlen(suffix), suffix) == 0)
                        n++;
        closedir(d);
        return n;
}

static char *slurp(const char *p) {
        static char buf[16384];
        FILE *f = fopen(p, "r");
        size_t n;

        if (!f)
                return NULL;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        return buf;
}

/* A target as the Director gives it: the commit checksum as sha256. */
static UpDirectorTarget target(int commit, const char *format, const char *uri) {
        UpDirectorTarget t = { .name = (char *) "primary-os", .length = 0, .n_hashes = 1,
                               .format = (char *) format, .uri = (char *) uri };

        t.hashes[0].alg = UP_HASH_SHA256;
        for (int i = 0; i < 32; i++)
                sscanf(commits[commit] + 2 * i, "%2hhx", &t.hashes[0].digest[i]);
        return t;
}

static PrimaryConfig config(const char *sysroot) {
        return (PrimaryConfig) {
                .package_manager = PACKAGE_MANAGER_OSTREE,
                .ostree_sysroot = (char *) sysroot,
                .ostree_remote_url = url,
                .ostree_os = (char *) OSNAME,
                .max_image_size = UINT64_C(1) << 32,
                .min_bytes_per_second = 1024,
                .min_speed_window_s = 10,
        };
}

static PackageManager *open_pm(const PrimaryConfig *c) {
        PackageManager *pm = NULL;
        char *err = NULL;
        int r = package_manager_new(c, &pm, &err);

        ck_assert_msg(r == 0, "package_manager_new: %d %s", r, err ? err : "");
        free(err);
        return pm;
}

static PackageManager *sysroot_pm(void) {
        PrimaryConfig c = config(path("sysroot"));
        return open_pm(&c);
}

static int fetch(PackageManager *pm, int commit, PackageManagerProgress progress, void *userdata) {
        UpDirectorTarget t = target(commit, "OSTREE", NULL);
        return pm->ops->fetch(pm, &t, progress, userdata);
}

static InstallOutcome install(PackageManager *pm, int commit) {
        UpDirectorTarget t = target(commit, "OSTREE", NULL);
        InstallOutcome o = {};

        ck_assert_int_eq(pm->ops->install(pm, &t, NULL, &o), 0);
        return o;
}

static int finalize(PackageManager *pm, int commit, InstallOutcome *o) {
        struct json_object *hashes = json_object_new_object();
        ImageRecord rec = { .name = "primary-os", .length = 0, .hashes = hashes };
        int r;

        json_object_object_add(hashes, "sha256", json_object_new_string(commits[commit]));
        r = pm->ops->finalize(pm, &rec, o);
        json_object_put(hashes);
        return r;
}

static bool ref_exists(const char *ref) {
        return exists(path("sysroot/ostree/repo/refs/heads/%s", ref));
}

static const char *deployment(int commit, int serial) {
        return path("sysroot/ostree/deploy/" OSNAME "/deploy/%s.%d", commits[commit], serial);
}

static int n_deployments(void) {
        return count_entries(path("sysroot/ostree/deploy/" OSNAME "/deploy"), ".origin");
}

/* The next boot's deployment, through the package manager's own view. */
static void assert_default(PackageManager *pm, int commit) {
        char *name = NULL, want[64];
        uint64_t length = 1;
        struct json_object *hashes = NULL, *sha;

        ck_assert_int_eq(pm->ops->factory_image(pm, &name, &length, &hashes), 0);
        snprintf(want, sizeof(want), OSNAME "-%.12s", commits[commit]);
        ck_assert_str_eq(name, want);
        ck_assert_uint_eq(length, 0);
        ck_assert(json_object_object_get_ex(hashes, "sha256", &sha));
        ck_assert_str_eq(json_object_get_string(sha), commits[commit]);
        free(name);
        json_object_put(hashes);
}

/* --- The fixture, once ------------------------------------------------------------------------------- */

static const char fixture_script[] =
        "set -eu\n"
        "W=$1; N=$2\n"
        "tree() {\n"
        "  d=$W/tree$1; mkdir -p $d/usr/bin $d/usr/etc $d/usr/lib/modules/6.1.0-test\n"
        "  for m in boot dev proc run sys sysroot tmp var; do mkdir -p $d/$m; done\n"
        "  ln -s usr/bin $d/bin; ln -s usr/lib $d/lib; ln -s sysroot/ostree $d/ostree\n"
        "  printf '#!/bin/sh\\necho version %s\\n' $1 > $d/usr/bin/hello; chmod 755 $d/usr/bin/hello\n"
        "  printf 'ID=" OSNAME "\\nVERSION_ID=%s\\n' $1 > $d/usr/lib/os-release\n"
        "  echo $1 > $d/usr/etc/test-version\n"
        "  echo kernel $1 > $d/usr/lib/modules/6.1.0-test/vmlinuz\n"
        "  echo initramfs $1 > $d/usr/lib/modules/6.1.0-test/initramfs.img\n"
        "}\n"
        "commit() {\n"
        "  ostree --repo=$W/server commit --branch=" OSNAME "/main --tree=dir=$W/tree$1 --no-xattrs \\\n"
        "    --owner-uid=0 --owner-gid=0 --timestamp=\"2024-01-0$1 00:00:00 +0000\" --subject=v$1 >/dev/null\n"
        "  ostree --repo=$W/server rev-parse " OSNAME "/main > $W/commit$1\n"
        "}\n"
        "ostree --repo=$W/server init --mode=archive\n"
        "tree 1; commit 1; tree 2; commit 2\n"
        "tree 3; mkdir $W/tree3/usr/share; mkdir $W/tree3/usr/share/bulk\n"
        "for i in $(seq 1 $N); do echo bulk $i > $W/tree3/usr/share/bulk/f$i; done; commit 3\n"
        "tree 4; echo only in version 4 > $W/tree4/usr/etc/victim; commit 4\n"
        /* Commit 4 on the server: one file object replaced by another valid one. */
        "v=$(ostree --repo=$W/server ls -C $(cat $W/commit4) /usr/etc/victim | awk '{print $5}')\n"
        "h=$(ostree --repo=$W/server ls -C $(cat $W/commit1) /usr/bin/hello | awk '{print $5}')\n"
        "cp $W/server/objects/${h:0:2}/${h:2}.filez $W/server/objects/${v:0:2}/${v:2}.filez\n"
        "rm -rf $W/tree?\n"
        "S=$W/template; mkdir $S\n"
        "ostree admin init-fs $S >/dev/null\n"
        "ostree admin os-init --sysroot=$S " OSNAME " >/dev/null\n"
        "mkdir -p $S/ostree/deploy/" OSNAME "/var/tmp\n"
        "ostree config --repo=$S/ostree/repo set sysroot.bootloader none\n"
        "ostree --repo=$S/ostree/repo pull-local $W/server $(cat $W/commit1) >/dev/null\n"
        "ostree admin deploy --sysroot=$S --os=" OSNAME " --karg=root=LABEL=test-root --karg=rw "
        "$(cat $W/commit1) >/dev/null\n";

static void fixture_down(void);

/* The fixture runs in the runner itself: no ck_assert there. */
static void die(const char *what) {
        fprintf(stderr, "fixture: %s failed\n", what);
        fixture_down();
        exit(EXIT_FAILURE);
}

static int free_port(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM, 0), port;

        if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
            getsockname(fd, (struct sockaddr *) &a, &len) < 0)
                die("a free port");
        port = ntohs(a.sin_port);
        close(fd);
        return port;
}

/* The server repository over HTTP, but a file object's request is never answered. */
static const char stalling_server[] =
        "import http.server, sys, time\n"
        "class Handler(http.server.SimpleHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        if self.path.endswith('.filez'):\n"
        "            time.sleep(3600)\n"
        "        return super().do_GET()\n"
        "http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Handler).serve_forever()\n";

/* python3 ARGS... PORT in the server repository, answering at ret_url/config. */
static pid_t start_http(const char *script, char ret_url[static 64]) {
        char port[16];
        pid_t pid;

        snprintf(port, sizeof(port), "%d", free_port());
        snprintf(ret_url, 64, "http://127.0.0.1:%s", port);
        pid = fork();
        if (pid == 0) {
                if (chdir(path("server")) < 0 || !freopen("/dev/null", "w", stdout) ||
                    !freopen("/dev/null", "w", stderr))
                        _exit(127);
                if (script)
                        execlp("python3", "python3", "-c", script, port, (char *) NULL);
                else
                        execlp("python3", "python3", "-m", "http.server", "--bind", "127.0.0.1", port, (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 200; i++) {
                if (run("curl -fs -o /dev/null %s/config", ret_url) == 0)
                        return pid;
                usleep(25 * 1000);
        }
        die("python3 -m http.server");
        return -1;
}

static int read_commits(void) {
        for (int i = 1; i <= 4; i++) {
                FILE *f = fopen(path("commit%d", i), "r");
                int n = f ? fscanf(f, "%64s", commits[i]) : 0;

                if (f)
                        fclose(f);
                if (n != 1)
                        return -1;
        }
        return 0;
}

static void fixture_up(void) {
        struct timespec t0, t1;
        FILE *f;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        snprintf(work, sizeof(work), "/tmp/test-primaryd-ostree.XXXXXX");
        if (!mkdtemp(work) || mount("test-primaryd-ostree", work, "tmpfs", 0, "size=256m,mode=0755") < 0)
                die("a tmpfs");
        f = fopen(path("fixture.sh"), "w");
        if (!f || fputs(fixture_script, f) < 0 || fclose(f) != 0)
                die("writing fixture.sh");
        if (run("bash %s %s %d", path("fixture.sh"), work, BULK_FILES) != 0)
                die("fixture.sh");
        if (read_commits() < 0)
                die("reading the commit checksums");
        http_pid = start_http(NULL, url);
        stalling_pid = start_http(stalling_server, stalling_url);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("fixture: %.2f s\n", (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
}

static void stop(pid_t pid) {
        if (pid > 0) {
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
        }
}

static void fixture_down(void) {
        stop(http_pid);
        stop(stalling_pid);
        (void) umount2(work, MNT_DETACH);
        (void) rmdir(work);
}

/* A fresh device for each test (deployments are immutable: chattr first). */
static void setup(void) {
        ck_assert_int_eq(run("cp -a %s %s", path("template"), path("sysroot")), 0);
        setenv("UPTANE_TEST_BOOT_ID", "boot-1", 1);
        unsetenv("UPTANE_TEST_CRASH_POINT");
}

static void teardown(void) {
        ck_assert_int_eq(run("chattr -R -i %s 2>/dev/null; rm -rf %s", path("sysroot"), path("sysroot")), 0);
}

/* --- Children ---------------------------------------------------------------------------------------
 * What must run in another process (cut by kill -9, or in a mount namespace)
 * runs in a fresh copy of this program: a plain fork() of a process that
 * used GLib's thread pool (CK_FORK=no) would inherit a pool without threads. */

typedef struct BootResult {
        int finalize;
        InstallOutcome finalized, installed;
        char factory[128];
} BootResult;

static pid_t spawn(const char *action, const char *arg, int fd) {
        char fd_text[16];
        pid_t pid;

        snprintf(fd_text, sizeof(fd_text), "%d", fd);
        pid = fork();
        if (pid == 0) {
                execl("/proc/self/exe", "test_primaryd_ostree", "--child", action, work, url, arg ?: "-", fd_text,
                      (char *) NULL);
                _exit(127);
        }
        return pid;
}

/* The exit status of a child, or -SIGNAL when it was killed. */
static int wait_child(pid_t pid) {
        int status;

        ck_assert_int_ge(pid, 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

static int enter_deployment(int commit);

static int child_fetch(PackageManager *pm, int commit) {
        UpDirectorTarget t = target(commit, "OSTREE", NULL);

        return pm->ops->fetch(pm, &t, NULL, NULL) == 0 ? 0 : 1;
}

static int child_install(PackageManager *pm, int commit, InstallOutcome *o) {
        UpDirectorTarget t = target(commit, "OSTREE", NULL);

        return pm->ops->install(pm, &t, NULL, o) == 0 ? 0 : 1;
}

/* Booted into arg[0] with arg[1] pending: finalize, factory image, and (arg[2] 'i') install. */
static int child_boot(const char *arg, int fd) {
        BootResult res = {};
        PackageManager *pm = NULL;
        PrimaryConfig c;
        struct json_object *hashes = NULL;
        char *name = NULL;
        uint64_t length;
        int booted = arg[0] - '0', pending = arg[1] - '0';

        if (enter_deployment(booted) < 0)
                return 2;
        c = config("/");
        if (package_manager_new(&c, &pm, NULL) < 0)
                return 3;
        res.finalize = finalize(pm, pending, &res.finalized);
        if (pm->ops->factory_image(pm, &name, &length, &hashes) == 0)
                snprintf(res.factory, sizeof(res.factory), "%s", name);
        free(name);
        json_object_put(hashes);
        if (arg[2] == 'i' && child_install(pm, pending, &res.installed) != 0)
                res.finalize = -EIO;
        package_manager_free(pm);
        return write(fd, &res, sizeof(res)) == sizeof(res) ? 0 : 5;
}

static int child_main(char **argv) {
        const char *action = argv[2], *arg = argv[5];
        PrimaryConfig c;
        PackageManager *pm = NULL;
        InstallOutcome o;

        snprintf(work, sizeof(work), "%s", argv[3]);
        snprintf(url, sizeof(url), "%s", argv[4]);
        if (read_commits() < 0)
                return 2;
        if (strcmp(action, "boot") == 0)
                return child_boot(arg, atoi(argv[6]));
        c = config(path("sysroot"));
        if (package_manager_new(&c, &pm, NULL) < 0)
                return 3;
        /* Both should die at their crash point. */
        if (strcmp(action, "fetch-cut") == 0) {
                setenv("UPTANE_TEST_CRASH_POINT", "ostree-pull-half", 1);
                (void) child_fetch(pm, 3);
        } else if (strcmp(action, "install-cut") == 0) {
                setenv("UPTANE_TEST_CRASH_POINT", "ostree-deployed", 1);
                (void) child_install(pm, 2, &o);
        }
        package_manager_free(pm);
        return 127;
}

/* --- fetches() and fetch() --------------------------------------------------------------------------- */

START_TEST(test_fetches_by_format) {
        PackageManager *pm = sysroot_pm();
        UpDirectorTarget a = target(2, "OSTREE", NULL), b = target(2, "ostree", NULL), c = target(2, NULL, NULL),
                         d = target(2, "BINARY", NULL);

        ck_assert(pm->ops->fetches(pm, &a));
        ck_assert(pm->ops->fetches(pm, &b));
        ck_assert(!pm->ops->fetches(pm, &c));
        ck_assert(!pm->ops->fetches(pm, &d));
        package_manager_free(pm);
}
END_TEST

static int count_progress(void *userdata, uint64_t done, uint64_t total) {
        (void) done;
        (void) total;
        (*(int *) userdata)++;
        return 0;
}

START_TEST(test_fetch_then_nothing_to_do) {
        PackageManager *pm = sysroot_pm();
        UpDirectorTarget offline = target(2, "OSTREE", "http://127.0.0.1:9");
        int calls = 0;

        ck_assert_int_eq(fetch(pm, 2, count_progress, &calls), 0);
        ck_assert(ref_exists("uptane/pending"));
        ck_assert_int_eq(run("ostree --repo=%s fsck -q >/dev/null 2>&1", path("sysroot/ostree/repo")), 0);
        /* Complete: no network (the URL given would refuse), no pull. */
        ck_assert_int_eq(pm->ops->fetch(pm, &offline, NULL, NULL), 0);
        package_manager_free(pm);
}
END_TEST

START_TEST(test_fetch_unknown_commit) {
        PackageManager *pm = sysroot_pm();
        UpDirectorTarget t = target(1, "OSTREE", NULL);

        memset(t.hashes[0].digest, 0x5a, 32);
        ck_assert_int_eq(pm->ops->fetch(pm, &t, NULL, NULL), -ENOENT);
        ck_assert_ptr_nonnull(pm->ops->last_error(pm));
        ck_assert_ptr_nonnull(strstr(pm->ops->last_error(pm), "404"));
        package_manager_free(pm);
}
END_TEST

START_TEST(test_fetch_refused_connection) {
        PackageManager *pm = sysroot_pm();
        UpDirectorTarget t = target(2, "OSTREE", "http://127.0.0.1:9");

        ck_assert_int_eq(pm->ops->fetch(pm, &t, NULL, NULL), -EIO);
        ck_assert_ptr_nonnull(strstr(pm->ops->last_error(pm), "127.0.0.1:9"));
        t.uri = (char *) "file:///etc";
        ck_assert_int_eq(pm->ops->fetch(pm, &t, NULL, NULL), -EOPNOTSUPP);
        package_manager_free(pm);
}
END_TEST

/* Stops once some objects are in and some are not. */
static int cancel_half_way(void *userdata, uint64_t done, uint64_t total) {
        int *cancelled = userdata;

        if (done > 0 && done < total)
                *cancelled = 1;
        return *cancelled;
}

START_TEST(test_fetch_cancel_then_resume) {
        PackageManager *pm = sysroot_pm();
        int cancelled = 0;

        ck_assert_int_eq(fetch(pm, 3, cancel_half_way, &cancelled), -ECANCELED);
        ck_assert_int_eq(cancelled, 1);
        ck_assert(!ref_exists("uptane/pending"));
        ck_assert_int_eq(fetch(pm, 3, NULL, NULL), 0);
        ck_assert(ref_exists("uptane/pending"));
        ck_assert_int_eq(run("ostree --repo=%s fsck -q >/dev/null 2>&1", path("sysroot/ostree/repo")), 0);
        package_manager_free(pm);
}
END_TEST

START_TEST(test_fetch_killed_half_way_resumes) {
        PackageManager *pm = sysroot_pm();
        int r = wait_child(spawn("fetch-cut", NULL, -1));

        ck_assert_msg(r == -SIGKILL, "the pull was not cut: %d", r);
        /* The commit object is there, marked partial: never taken for complete. */
        ck_assert(exists(path("sysroot/ostree/repo/state/%s.commitpartial", commits[3])));
        ck_assert_int_eq(fetch(pm, 3, NULL, NULL), 0);
        ck_assert(!exists(path("sysroot/ostree/repo/state/%s.commitpartial", commits[3])));
        ck_assert_int_eq(run("ostree --repo=%s fsck -q >/dev/null 2>&1", path("sysroot/ostree/repo")), 0);
        package_manager_free(pm);
}
END_TEST

START_TEST(test_fetch_tampered_content) {
        PackageManager *pm = sysroot_pm();
        InstallOutcome o;

        ck_assert_int_eq(fetch(pm, 4, NULL, NULL), -EILSEQ);
        ck_assert_ptr_nonnull(strstr(pm->ops->last_error(pm), "Corrupted"));
        /* Partly pulled is not pulled: the second try fails the same way. */
        ck_assert_int_eq(fetch(pm, 4, NULL, NULL), -EILSEQ);
        ck_assert(!ref_exists("uptane/pending"));
        o = install(pm, 4);
        ck_assert(!o.success);
        ck_assert_str_eq(o.code, "INSTALL_FAILED");
        ck_assert_int_eq(n_deployments(), 1);
        package_manager_free(pm);
}
END_TEST

START_TEST(test_fetch_min_free_space) {
        PrimaryConfig c = config(path("sysroot"));
        PackageManager *pm;

        c.ostree_min_free_space = UINT64_C(1) << 40; /* 1T, on a 256M tmpfs */
        pm = open_pm(&c);
        ck_assert_int_eq(fetch(pm, 3, NULL, NULL), -ENOSPC);
        ck_assert_ptr_nonnull(strstr(slurp(path("sysroot/ostree/repo/config")), "min-free-space-size=1048576MB"));
        package_manager_free(pm);
}
END_TEST

START_TEST(test_fetch_endless_data) {
        PrimaryConfig c = config(path("sysroot"));
        PackageManager *pm;

        c.max_image_size = 16 * 1024;
        pm = open_pm(&c);
        ck_assert_int_eq(fetch(pm, 3, NULL, NULL), -EFBIG);
        package_manager_free(pm);
}
END_TEST

/* A server that accepts the connection (the kernel does) and never answers. */
START_TEST(test_fetch_slow_retrieval) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        PrimaryConfig c = config(path("sysroot"));
        PackageManager *pm;
        char stalled[64];
        time_t t0 = time(NULL);

        ck_assert(fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0 && listen(fd, 8) == 0 &&
                  getsockname(fd, (struct sockaddr *) &a, &len) == 0);
        snprintf(stalled, sizeof(stalled), "http://127.0.0.1:%d", ntohs(a.sin_port));
        c.ostree_remote_url = stalled;
        c.min_speed_window_s = 1;
        pm = open_pm(&c);
        ck_assert_int_eq(fetch(pm, 2, NULL, NULL), -ETIMEDOUT);
        ck_assert_int_le(time(NULL) - t0, 5);
        package_manager_free(pm);
        close(fd);
}
END_TEST

/* The metadata comes, a file object never does: pull_check() sees it. */
START_TEST(test_fetch_stalled_object) {
        PrimaryConfig c = config(path("sysroot"));
        PackageManager *pm;
        time_t t0 = time(NULL);

        c.ostree_remote_url = stalling_url;
        c.min_speed_window_s = 1;
        pm = open_pm(&c);
        ck_assert_int_eq(fetch(pm, 2, NULL, NULL), -ETIMEDOUT);
        ck_assert_int_le(time(NULL) - t0, 5);
        ck_assert_ptr_nonnull(strstr(pm->ops->last_error(pm), "min-bytes-per-second"));
        package_manager_free(pm);
}
END_TEST

static int cancel_after_a_second(void *userdata, uint64_t done, uint64_t total) {
        (void) done;
        (void) total;
        return time(NULL) - *(time_t *) userdata >= 1;
}

/* A cancel does not wait for the object in flight. */
START_TEST(test_fetch_cancel_while_stalled) {
        PrimaryConfig c = config(path("sysroot"));
        PackageManager *pm;
        time_t t0 = time(NULL);

        c.ostree_remote_url = stalling_url;
        pm = open_pm(&c);
        ck_assert_int_eq(fetch(pm, 2, cancel_after_a_second, &t0), -ECANCELED);
        ck_assert_int_le(time(NULL) - t0, 4);
        package_manager_free(pm);
}
END_TEST

/* --- install() ----------------------------------------------------------------------------------------- */

START_TEST(test_install_deploys_and_keeps_rollback) {
        PackageManager *pm = sysroot_pm();
        InstallOutcome o;
        char *entries;

        ck_assert_int_eq(fetch(pm, 2, NULL, NULL), 0);
        o = install(pm, 2);
        ck_assert_msg(o.success, "%s", o.description);
        ck_assert(o.reboot_needed);
        ck_assert_str_eq(o.code, "OK");
        ck_assert_ptr_nonnull(strstr(o.description, commits[2]));
        ck_assert_int_eq(n_deployments(), 2);
        ck_assert(exists(deployment(2, 0)) && exists(deployment(1, 0)));
        assert_default(pm, 2);
        ck_assert(!ref_exists("uptane/pending"));
        /* The merge deployment's kernel arguments, in both boot entries. */
        ck_assert_int_eq(count_entries(path("sysroot/boot/loader/entries"), ".conf"), 2);
        ck_assert_int_eq(run("test $(grep -l '^options .*root=LABEL=test-root rw' %s/*.conf | wc -l) = 2",
                             path("sysroot/boot/loader/entries")), 0);
        entries = slurp(path("sysroot/ostree/deploy/" OSNAME "/deploy/%s.0.origin", commits[2]));
        ck_assert_ptr_nonnull(strstr(entries, "deployed-boot-id=boot-1"));

        /* Twice: nothing more. */
        o = install(pm, 2);
        ck_assert(o.success && o.reboot_needed);
        ck_assert_int_eq(n_deployments(), 2);
        ck_assert(!exists(deployment(2, 1)));
        package_manager_free(pm);
}
END_TEST

START_TEST(test_install_not_fetched) {
        PackageManager *pm = sysroot_pm();
        InstallOutcome o = install(pm, 2);

        ck_assert(!o.success);
        ck_assert_str_eq(o.code, "INSTALL_FAILED");
        ck_assert_ptr_nonnull(strstr(o.description, commits[2]));
        ck_assert_int_eq(n_deployments(), 1);
        package_manager_free(pm);
}
END_TEST

START_TEST(test_install_killed_after_deploy) {
        PackageManager *pm = sysroot_pm();
        InstallOutcome o;

        ck_assert_int_eq(fetch(pm, 2, NULL, NULL), 0);
        ck_assert_int_eq(wait_child(spawn("install-cut", NULL, -1)), -SIGKILL);
        ck_assert_int_eq(n_deployments(), 2);
        /* The daemon restarts in the same boot: not rebooted yet, install again. */
        ck_assert_int_eq(finalize(pm, 2, &o), -EAGAIN);
        o = install(pm, 2);
        ck_assert(o.success && o.reboot_needed);
        ck_assert_int_eq(n_deployments(), 2);
        ck_assert(!ref_exists("uptane/pending"));
        package_manager_free(pm);
}
END_TEST

/* --- finalize() and factory_image() without a booted deployment ------------------------------------ */

START_TEST(test_finalize_unbooted) {
        PackageManager *pm = sysroot_pm();
        InstallOutcome o;

        ck_assert_int_eq(finalize(pm, 2, &o), -EAGAIN); /* never deployed */
        ck_assert_int_eq(fetch(pm, 2, NULL, NULL), 0);
        o = install(pm, 2);
        ck_assert(o.success);
        ck_assert_int_eq(finalize(pm, 2, &o), -EAGAIN); /* same boot */
        setenv("UPTANE_TEST_BOOT_ID", "boot-2", 1);
        ck_assert_int_eq(finalize(pm, 2, &o), -ENODEV); /* another boot, but not an OSTree-booted one */
        package_manager_free(pm);
}
END_TEST

START_TEST(test_factory_image) {
        PackageManager *pm = sysroot_pm();
        PrimaryConfig c = config(path("sysroot"));
        char *name = NULL;
        uint64_t length;
        struct json_object *hashes = NULL;

        assert_default(pm, 1);
        package_manager_free(pm);
        /* ostree-os unset: the only stateroot. */
        c.ostree_os = NULL;
        pm = open_pm(&c);
        assert_default(pm, 1);
        package_manager_free(pm);
        /* A stateroot without deployments. */
        ck_assert_int_eq(run("ostree admin os-init --sysroot=%s other-os >/dev/null", path("sysroot")), 0);
        c.ostree_os = (char *) "other-os";
        pm = open_pm(&c);
        ck_assert_int_eq(pm->ops->factory_image(pm, &name, &length, &hashes), -ENODEV);
        package_manager_free(pm);
        c.ostree_os = NULL;
        ck_assert_int_eq(package_manager_new(&c, &pm, &name), -EINVAL);
        ck_assert_ptr_nonnull(strstr(name, "ostree-os"));
        free(name);
}
END_TEST

/* --- A simulated boot ------------------------------------------------------------------------------- */

static int bind_mount(const char *from, const char *to) {
        return mount(from, to, NULL, MS_BIND | MS_REC, NULL);
}

/* What ostree-prepare-root does in the initramfs, enough for libostree to
 * find the deployment booted: the deployment is "/", the physical root
 * /sysroot, and /run/ostree-booted exists. */
static int enter_deployment(int commit) {
        char d[1024];
        FILE *f;

        snprintf(d, sizeof(d), "%s", deployment(commit, 0));
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -1;
        if (bind_mount(path("sysroot"), path("sysroot/ostree/deploy/" OSNAME "/deploy/%s.0/sysroot",
                                              commits[commit])) < 0 ||
            bind_mount(path("sysroot/boot"), path("sysroot/ostree/deploy/" OSNAME "/deploy/%s.0/boot",
                                                   commits[commit])) < 0 ||
            bind_mount("/usr", path("sysroot/ostree/deploy/" OSNAME "/deploy/%s.0/usr", commits[commit])) < 0 ||
            bind_mount(path("sysroot/ostree/deploy/" OSNAME "/var"),
                       path("sysroot/ostree/deploy/" OSNAME "/deploy/%s.0/var", commits[commit])) < 0 ||
            bind_mount("/dev", path("sysroot/ostree/deploy/" OSNAME "/deploy/%s.0/dev", commits[commit])) < 0 ||
            mount("proc", path("sysroot/ostree/deploy/" OSNAME "/deploy/%s.0/proc", commits[commit]), "proc", 0,
                  NULL) < 0 ||
            mount("run", path("sysroot/ostree/deploy/" OSNAME "/deploy/%s.0/run", commits[commit]), "tmpfs", 0,
                  NULL) < 0 ||
            mount("tmp", path("sysroot/ostree/deploy/" OSNAME "/deploy/%s.0/tmp", commits[commit]), "tmpfs", 0,
                  NULL) < 0)
                return -1;
        if (chroot(d) < 0 || chdir("/") < 0)
                return -1;
        f = fopen("/run/ostree-booted", "w");
        return f && fclose(f) == 0 ? 0 : -1;
}

/* In a child booted, as libostree sees it, into commit booted, in boot
 * "boot-2": finalize of pending, then (reinstall) install of pending. */
static BootResult boot_into(int booted, int pending, bool reinstall) {
        BootResult res = {};
        char arg[4] = { (char) ('0' + booted), (char) ('0' + pending), reinstall ? 'i' : '-', '\0' };
        int fds[2], r;
        pid_t pid;

        ck_assert_int_eq(pipe(fds), 0);
        setenv("UPTANE_TEST_BOOT_ID", "boot-2", 1);
        pid = spawn("boot", arg, fds[1]);
        close(fds[1]);
        r = wait_child(pid);
        ck_assert_msg(r == 0, "booted child: %d", r);
        ck_assert_int_eq(read(fds[0], &res, sizeof(res)), sizeof(res));
        close(fds[0]);
        return res;
}

START_TEST(test_boot_into_new) {
        PackageManager *pm = sysroot_pm();
        BootResult b;
        char want[64];

        ck_assert_int_eq(fetch(pm, 2, NULL, NULL), 0);
        ck_assert(install(pm, 2).success);
        b = boot_into(2, 2, true);
        ck_assert_int_eq(b.finalize, 0);
        ck_assert_msg(b.finalized.success, "%s", b.finalized.description);
        ck_assert_str_eq(b.finalized.code, "OK");
        snprintf(want, sizeof(want), OSNAME "-%.12s", commits[2]);
        ck_assert_str_eq(b.factory, want);
        /* Installing what is booted: nothing to do, no reboot. */
        ck_assert(b.installed.success && !b.installed.reboot_needed);
        ck_assert_int_eq(n_deployments(), 2);
        package_manager_free(pm);
}
END_TEST

START_TEST(test_boot_rolled_back) {
        PackageManager *pm = sysroot_pm();
        BootResult b;

        ck_assert_int_eq(fetch(pm, 2, NULL, NULL), 0);
        ck_assert(install(pm, 2).success);
        b = boot_into(1, 2, false);
        ck_assert_int_eq(b.finalize, 0);
        ck_assert(!b.finalized.success);
        ck_assert_str_eq(b.finalized.code, "BOOT_ROLLED_BACK");
        ck_assert_msg(strstr(b.finalized.description, commits[1]), "%s", b.finalized.description);
        ck_assert_ptr_nonnull(strstr(b.finalized.description, "removed"));
        /* The failed deployment is gone, the booted one is the default. */
        ck_assert(!exists(path("sysroot/ostree/deploy/" OSNAME "/deploy/%s.0.origin", commits[2])));
        assert_default(pm, 1);
        ck_assert_int_eq(n_deployments(), 1);
        package_manager_free(pm);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("primaryd_ostree");
        TCase *tc = tcase_create("fetch");

        tcase_add_unchecked_fixture(tc, fixture_up, fixture_down);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_fetches_by_format);
        tcase_add_test(tc, test_fetch_then_nothing_to_do);
        tcase_add_test(tc, test_fetch_unknown_commit);
        tcase_add_test(tc, test_fetch_refused_connection);
        tcase_add_test(tc, test_fetch_cancel_then_resume);
        tcase_add_test(tc, test_fetch_killed_half_way_resumes);
        tcase_add_test(tc, test_fetch_tampered_content);
        tcase_add_test(tc, test_fetch_min_free_space);
        tcase_add_test(tc, test_fetch_endless_data);
        tcase_add_test(tc, test_fetch_slow_retrieval);
        tcase_add_test(tc, test_fetch_stalled_object);
        tcase_add_test(tc, test_fetch_cancel_while_stalled);
        tcase_add_test(tc, test_install_deploys_and_keeps_rollback);
        tcase_add_test(tc, test_install_not_fetched);
        tcase_add_test(tc, test_install_killed_after_deploy);
        tcase_add_test(tc, test_finalize_unbooted);
        tcase_add_test(tc, test_factory_image);
        tcase_add_test(tc, test_boot_into_new);
        tcase_add_test(tc, test_boot_rolled_back);
        suite_add_tcase(s, tc);
        return s;
}

static bool have(const char *program) {
        return run("command -v %s >/dev/null 2>&1", program) == 0;
}

int main(int argc, char **argv) {
        SRunner *sr;
        int failed;

        if (argc == 7 && strcmp(argv[1], "--child") == 0)
                return child_main(argv);

        if (geteuid() != 0 || !have("ostree") || !have("python3") || !have("curl")) {
                printf("SKIP: needs root (a tmpfs for the sysroot, a mount namespace and chroot for a simulated "
                       "boot), ostree, python3 and curl\n");
                return 77;
        }
        sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
