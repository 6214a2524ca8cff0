/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "daemon_event.h"

int daemon_event_new(sd_event **ret, const DaemonEventSignals *s) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (s->on_reload)
                sigaddset(&mask, SIGHUP);
        if (s->block_sigpipe)
                sigaddset(&mask, SIGPIPE);
        if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
                return -EINVAL;
        r = sd_event_default(ret);
        if (r >= 0)
                r = sd_event_add_signal(*ret, NULL, SIGTERM, s->on_stop, s->userdata);
        if (r >= 0)
                r = sd_event_add_signal(*ret, NULL, SIGINT, s->on_stop, s->userdata);
        if (r >= 0 && s->on_reload)
                r = sd_event_add_signal(*ret, NULL, SIGHUP, s->on_reload, s->userdata);
        if (r >= 0)
                r = sd_event_set_watchdog(*ret, true);
        return r < 0 ? r : 0;
}
