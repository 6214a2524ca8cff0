/* SPDX-License-Identifier: MIT */
/*
 * bench_rusage COMMAND [ARG...]: runs COMMAND and prints, on stderr,
 *
 *     RUSAGE wall=S user=S sys=S maxrss_kb=N status=N
 *
 * from wait4(): CPU times in microseconds (GNU time prints hundredths), and
 * the peak RSS of COMMAND itself. A program forked from a large parent (a
 * Python interpreter, say) would report the parent's peak instead: Linux
 * keeps the pre-exec high-water mark in ru_maxrss. This one is small.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timeval tv) {
        return (double) tv.tv_sec + (double) tv.tv_usec / 1e6;
}

int main(int argc, char **argv) {
        struct timespec a, b;
        struct rusage ru;
        pid_t pid;
        int status;

        if (argc < 2) {
                fprintf(stderr, "usage: bench_rusage COMMAND [ARG...]\n");
                return 64;
        }
        clock_gettime(CLOCK_MONOTONIC, &a);
        pid = fork();
        if (pid < 0) {
                perror("fork");
                return 71;
        }
        if (pid == 0) {
                execvp(argv[1], argv + 1);
                fprintf(stderr, "bench_rusage: %s: %s\n", argv[1], strerror(errno));
                _exit(127);
        }
        while (wait4(pid, &status, 0, &ru) < 0)
                if (errno != EINTR) {
                        perror("wait4");
                        return 71;
                }
        clock_gettime(CLOCK_MONOTONIC, &b);
        fprintf(stderr, "RUSAGE wall=%.6f user=%.6f sys=%.6f maxrss_kb=%ld status=%d\n",
                (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9, seconds(ru.ru_utime),
                seconds(ru.ru_stime), ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
