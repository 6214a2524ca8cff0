/* SPDX-License-Identifier: MIT */
/*
 * ISO-TP links on the kernel's CAN_ISOTP sockets.
 */

#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <linux/can.h>
#include <linux/can/isotp.h>

#include "isotp.h"
#include "uds_util.h"

struct IsotpLink {
        int fd;
        uint8_t *buf;              /* ISOTP_PDU_MAX + 1: a longer message shows as truncated */
};

IsotpOptions isotp_options_default(uint32_t tx_id, uint32_t rx_id) {
        return (IsotpOptions) { .tx_id = tx_id, .rx_id = rx_id, .padding = -1, .tx_dl = 8 };
}

static bool stmin_valid(uint8_t stmin) {
        return stmin <= 0x7F || (stmin >= 0xF1 && stmin <= 0xF9);
}

static bool fd_len_valid(uint8_t dl) {
        static const uint8_t lens[] = { 8, 12, 16, 20, 24, 32, 48, 64 };

        for (size_t i = 0; i < ELEMENTSOF(lens); i++)
                if (lens[i] == dl)
                        return true;
        return false;
}

int isotp_options_check(const IsotpOptions *o) {
        uint32_t max;

        if (!o)
                return -EINVAL;
        max = o->extended_ids ? ISOTP_CAN_EFF_MAX : ISOTP_CAN_SFF_MAX;
        if (o->tx_id > max || o->rx_id > max || o->tx_id == o->rx_id)
                return -EINVAL;
        if (o->padding < -1 || o->padding > UINT8_MAX)
                return -EINVAL;
        if (!stmin_valid(o->stmin))
                return -EINVAL;
        if (o->tx_stmin_usec > UINT32_MAX / 1000)
                return -EINVAL;
        if (o->frame_txtime_usec != ISOTP_FRAME_TXTIME_NONE && o->frame_txtime_usec >= UINT32_MAX / 1000)
                return -EINVAL;
        if (o->can_fd ? !fd_len_valid(o->tx_dl) : o->tx_dl != 8)
                return -EINVAL;
        return 0;
}

static int setopt(int fd, int name, const void *v, socklen_t len) {
        return setsockopt(fd, SOL_CAN_ISOTP, name, v, len) < 0 ? uds_negative_errno() : 0;
}

/* Padding, flow control we send, TX STmin and CAN FD framing. */
static int configure(int fd, const IsotpOptions *o) {
        struct can_isotp_options opts = {
                /* send() returns when the last frame left, with the transfer's error if any */
                .flags = CAN_ISOTP_WAIT_TX_DONE,
        };
        struct can_isotp_fc_options fc = { .bs = o->block_size, .stmin = o->stmin, .wftmax = 0 };
        int r;

        if (o->padding >= 0) {
                opts.flags |= CAN_ISOTP_TX_PADDING | CAN_ISOTP_RX_PADDING;
                opts.txpad_content = opts.rxpad_content = (uint8_t) o->padding;
        }
        if (o->tx_stmin_usec > 0)
                opts.flags |= CAN_ISOTP_FORCE_TXSTMIN;
        if (o->frame_txtime_usec == ISOTP_FRAME_TXTIME_NONE)
                opts.frame_txtime = CAN_ISOTP_FRAME_TXTIME_ZERO;
        else
                opts.frame_txtime = o->frame_txtime_usec * 1000;     /* 0: the default */
        r = setopt(fd, CAN_ISOTP_OPTS, &opts, sizeof(opts));
        if (r < 0)
                return r;
        r = setopt(fd, CAN_ISOTP_RECV_FC, &fc, sizeof(fc));
        if (r < 0)
                return r;
        if (o->tx_stmin_usec > 0) {
                uint32_t nsec = o->tx_stmin_usec * 1000;

                r = setopt(fd, CAN_ISOTP_TX_STMIN, &nsec, sizeof(nsec));
                if (r < 0)
                        return r;
        }
        if (o->can_fd) {
                struct can_isotp_ll_options ll = { .mtu = CANFD_MTU, .tx_dl = o->tx_dl, .tx_flags = 0 };

                r = setopt(fd, CAN_ISOTP_LL_OPTS, &ll, sizeof(ll));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int bind_link(int fd, const char *ifname, const IsotpOptions *o) {
        struct sockaddr_can addr = { .can_family = AF_CAN };
        canid_t flag = o->extended_ids ? CAN_EFF_FLAG : 0;
        unsigned idx;

        idx = if_nametoindex(ifname);
        if (idx == 0)
                return errno == ENXIO || errno == 0 ? -ENODEV : uds_negative_errno();
        addr.can_ifindex = (int) idx;
        addr.can_addr.tp.tx_id = o->tx_id | flag;
        addr.can_addr.tp.rx_id = o->rx_id | flag;
        return bind(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0 ? uds_negative_errno() : 0;
}

int isotp_link_open(const char *ifname, const IsotpOptions *o, IsotpLink **ret) {
        _cleanup_(uds_closep) int fd = -1;
        IsotpLink *l;
        int r;

        if (!ifname || !ret || strlen(ifname) == 0 || strlen(ifname) >= IFNAMSIZ)
                return -EINVAL;
        r = isotp_options_check(o);
        if (r < 0)
                return r;

        fd = socket(PF_CAN, SOCK_DGRAM | SOCK_CLOEXEC, CAN_ISOTP);
        if (fd < 0)
                return uds_negative_errno();     /* -EAFNOSUPPORT without CAN in the kernel */
        r = configure(fd, o);
        if (r < 0)
                return r;
        r = bind_link(fd, ifname, o);
        if (r < 0)
                return r;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->buf = malloc(ISOTP_PDU_MAX + 1);
        if (!l->buf) {
                free(l);
                return -ENOMEM;
        }
        l->fd = TAKE_FD(fd);
        *ret = l;
        return 0;
}

IsotpLink *isotp_link_free(IsotpLink *l) {
        if (!l)
                return NULL;
        uds_closep(&l->fd);
        free(l->buf);
        free(l);
        return NULL;
}

void isotp_link_freep(IsotpLink **l) {
        *l = isotp_link_free(*l);
}

int isotp_link_fd(const IsotpLink *l) {
        return l ? l->fd : -EINVAL;
}

int isotp_link_send(IsotpLink *l, const uint8_t *data, size_t len) {
        ssize_t n;

        if (!data || len == 0)
                return -EINVAL;
        if (len > ISOTP_PDU_MAX)
                return -EFBIG;
        if (!l)
                return -EINVAL;
        /* No retry on EINTR: the kernel may be sending the message already. */
        n = write(l->fd, data, len);
        if (n < 0)
                return uds_negative_errno();
        return (size_t) n == len ? 0 : -EIO;
}

/* poll() timeout in ms until deadline (rounded up), -1 for none. */
static int poll_timeout(uint64_t deadline_usec) {
        uint64_t now, ms;

        if (deadline_usec == UINT64_MAX)
                return -1;
        now = uds_transport_now_usec();
        if (deadline_usec <= now)
                return 0;
        ms = (deadline_usec - now + 999) / 1000;
        return ms > INT_MAX ? INT_MAX : (int) ms;
}

/* Waits until the socket is readable (or has an error to report). */
static int wait_readable(int fd, uint64_t deadline_usec) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int n = poll(&p, 1, poll_timeout(deadline_usec));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return uds_negative_errno();
                if (n > 0)
                        return 0;
                if (uds_transport_now_usec() >= deadline_usec)
                        return -ETIMEDOUT;
        }
}

int isotp_link_recv(IsotpLink *l, uint8_t **ret_data, size_t *ret_len, uint64_t deadline_usec) {
        uint8_t *p;
        ssize_t n;
        int r;

        if (!l || !ret_data || !ret_len)
                return -EINVAL;
        r = wait_readable(l->fd, deadline_usec);
        if (r < 0)
                return r;
        do
                n = read(l->fd, l->buf, ISOTP_PDU_MAX + 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return uds_negative_errno();    /* e.g. -ECOMM: a CF did not come in time */
        if (n == 0)
                return -EBADMSG;
        if ((size_t) n > ISOTP_PDU_MAX)
                return -EMSGSIZE;
        p = malloc((size_t) n);
        if (!p)
                return -ENOMEM;
        memcpy(p, l->buf, (size_t) n);
        *ret_data = p;
        *ret_len = (size_t) n;
        return 0;
}

static int transport_send(void *userdata, const uint8_t *data, size_t len) {
        return isotp_link_send(userdata, data, len);
}

static int transport_recv(void *userdata, uint8_t **ret_data, size_t *ret_len, uint64_t deadline_usec) {
        return isotp_link_recv(userdata, ret_data, ret_len, deadline_usec);
}

UdsTransport isotp_link_transport(IsotpLink *l) {
        return (UdsTransport) { .send = transport_send, .recv = transport_recv, .userdata = l };
}
