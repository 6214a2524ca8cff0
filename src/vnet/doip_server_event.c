/* SPDX-License-Identifier: MIT */
/* The DoIP entity on an sd-event loop: one I/O source per socket, one timer. */
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>

#include "doip_internal.h"
#include "doip_server_internal.h"

/* The server speaks poll(2) bits; sd-event takes epoll ones. */
_Static_assert(POLLIN == EPOLLIN && POLLOUT == EPOLLOUT && POLLERR == EPOLLERR && POLLHUP == EPOLLHUP,
               "poll and epoll bits differ");

/* Timers to the millisecond: sd-event's default accuracy is 250 ms. */
#define TIMER_ACCURACY_USEC 1000u

static int on_conn(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        DoipConn *c = userdata;
        DoipServer *s = c->server;

        (void) source;
        (void) fd;
        doip_conn_io(c, revents);
        doip_server_after(s);
        return 0;
}

static int on_tcp(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        (void) source;
        (void) fd;
        (void) revents;
        doip_server_accept(userdata);
        doip_server_after(userdata);
        return 0;
}

static int on_udp(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        (void) source;
        (void) fd;
        (void) revents;
        doip_server_udp(userdata);
        doip_server_after(userdata);
        return 0;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        (void) source;
        (void) usec;
        doip_server_timers(userdata);
        doip_server_after(userdata);
        return 0;
}

static int driver_add(DoipServer *s, DoipConn *c) {
        int r;

        r = sd_event_add_io(s->event, &c->source, c->fd, doip_conn_events(c), on_conn, c);
        if (r < 0)
                return r;
        r = sd_event_source_set_priority(c->source, s->priority);
        if (r < 0)
                c->source = sd_event_source_disable_unref(c->source);
        return r;
}

static void driver_remove(DoipServer *s, DoipConn *c) {
        (void) s;
        c->source = sd_event_source_disable_unref(c->source);
}

static void driver_update(DoipServer *s, DoipConn *c, uint32_t events) {
        (void) s;
        if (sd_event_source_set_io_events(c->source, events) < 0)
                doip_conn_kill(c);
}

static void driver_timer(DoipServer *s, uint64_t deadline) {
        if (deadline == USEC_INFINITY) {
                (void) sd_event_source_set_enabled(s->timer_source, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(s->timer_source, deadline);
        (void) sd_event_source_set_enabled(s->timer_source, SD_EVENT_ONESHOT);
}

const DoipServerDriver doip_server_event_driver = {
        .add = driver_add,
        .remove = driver_remove,
        .update = driver_update,
        .timer = driver_timer,
};

static int add_sources(DoipServer *s) {
        int r;

        r = sd_event_add_io(s->event, &s->tcp_source, s->tcp_fd, EPOLLIN, on_tcp, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->tcp_source, s->priority);
        if (r >= 0 && s->udp_fd >= 0) {
                r = sd_event_add_io(s->event, &s->udp_source, s->udp_fd, EPOLLIN, on_udp, s);
                if (r >= 0)
                        r = sd_event_source_set_priority(s->udp_source, s->priority);
        }
        if (r >= 0)
                r = sd_event_add_time(s->event, &s->timer_source, CLOCK_MONOTONIC, USEC_INFINITY,
                                      TIMER_ACCURACY_USEC, on_timer, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->timer_source, s->priority);
        for (size_t i = 0; r >= 0 && i < s->n_conns; i++)
                r = driver_add(s, s->conns[i]);
        return r;
}

int doip_server_attach_event(DoipServer *s, sd_event *e, int64_t priority) {
        int r;

        if (!s || !e)
                return -EINVAL;
        if (s->event)
                return -EBUSY;
        s->event = sd_event_ref(e);
        s->priority = priority;
        r = add_sources(s);
        if (r < 0) {
                doip_server_detach_event(s);
                return r;
        }
        s->driver = &doip_server_event_driver;
        doip_server_after(s);
        return 0;
}

void doip_server_detach_event(DoipServer *s) {
        if (!s || !s->event)
                return;
        for (size_t i = 0; i < s->n_conns; i++)
                s->conns[i]->source = sd_event_source_disable_unref(s->conns[i]->source);
        s->tcp_source = sd_event_source_disable_unref(s->tcp_source);
        s->udp_source = sd_event_source_disable_unref(s->udp_source);
        s->timer_source = sd_event_source_disable_unref(s->timer_source);
        s->driver = NULL;
        s->event = sd_event_unref(s->event);
}
