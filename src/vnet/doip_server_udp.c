/* SPDX-License-Identifier: MIT */
/* The DoIP entity on UDP: vehicle identification, entity status, power mode. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "doip_internal.h"
#include "doip_server_internal.h"

/* Larger than any request the entity answers on UDP. */
#define DATAGRAM_MAX 512u
#define UDP_BATCH 16

typedef struct Datagram {
        const uint8_t *data;
        size_t len;
        const struct sockaddr_storage *from;
        socklen_t from_len;
} Datagram;

static void reply(DoipServer *s, const Datagram *d, uint8_t version, const DoipPayload *p) {
        uint8_t buf[64];
        size_t n;

        if (doip_message_build(buf, sizeof(buf), version, p, &n) < 0)
                return;
        if (sendto(s->udp_fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT, (const struct sockaddr *) d->from, d->from_len) < 0)
                return; /* best effort, like the datagram itself */
        if (p->type == DOIP_TYPE_GENERIC_NACK)
                s->stats.generic_nacks++;
        else
                s->stats.udp_answers++;
}

static void announcement(const DoipServer *s, DoipPayload *ret) {
        *ret = (DoipPayload) { .type = DOIP_TYPE_VID_RESPONSE };
        memcpy(ret->announcement.vin, s->o.vin, DOIP_VIN_SIZE);
        ret->announcement.logical_address = s->o.logical_address;
        memcpy(ret->announcement.eid, s->o.eid, DOIP_EID_SIZE);
        memcpy(ret->announcement.gid, s->o.gid, DOIP_GID_SIZE);
        ret->announcement.further_action = s->o.further_action;
}

/* The answer to a request, if any: false when it is not for us. */
static bool answer(const DoipServer *s, const DoipPayload *req, DoipPayload *ret) {
        switch (req->type) {
        case DOIP_TYPE_VID_REQUEST:
                announcement(s, ret);
                return true;
        case DOIP_TYPE_VID_REQUEST_EID:
                announcement(s, ret);
                return memcmp(req->eid, s->o.eid, DOIP_EID_SIZE) == 0;
        case DOIP_TYPE_VID_REQUEST_VIN:
                announcement(s, ret);
                return memcmp(req->vin, s->o.vin, DOIP_VIN_SIZE) == 0;
        case DOIP_TYPE_ENTITY_STATUS_REQUEST:
        case DOIP_TYPE_POWER_MODE_REQUEST:
                doip_server_status(s, req->type, ret);
                return true;
        default: /* announcements of other entities, NACKs, TCP types */
                return false;
        }
}

static void nack(DoipServer *s, const Datagram *d, uint8_t version, uint8_t code) {
        DoipPayload p = { .type = DOIP_TYPE_GENERIC_NACK, .nack_code = code };

        /* Never a NACK to a NACK or an announcement: two entities could
         * answer each other forever. */
        if (d->len >= DOIP_HEADER_SIZE) {
                uint16_t type = doip_get16(d->data + 2);

                if (type == DOIP_TYPE_GENERIC_NACK || type == DOIP_TYPE_VID_RESPONSE)
                        return;
        }
        reply(s, d, version == DOIP_VERSION_2012 || version == DOIP_VERSION_2019 ? version : s->o.version, &p);
}

static void handle_datagram(DoipServer *s, const Datagram *d) {
        DoipPayload req, resp;
        DoipHeader h;
        uint8_t code = 0;
        int r;

        if (d->len < DOIP_HEADER_SIZE)
                return; /* not even a header to answer */
        r = doip_header_parse(d->data, d->len, DATAGRAM_MAX - DOIP_HEADER_SIZE, &h, &code);
        if (r < 0) {
                nack(s, d, d->data[0], code);
                return;
        }
        if (h.length != d->len - DOIP_HEADER_SIZE || doip_payload_parse(h.type, d->data + DOIP_HEADER_SIZE, h.length, &req) < 0) {
                nack(s, d, h.version, DOIP_NACK_INVALID_LENGTH);
                return;
        }
        if (answer(s, &req, &resp))
                reply(s, d, h.version == DOIP_VERSION_DEFAULT ? s->o.version : h.version, &resp);
}

void doip_server_udp(DoipServer *s) {
        for (int i = 0; i < UDP_BATCH; i++) {
                uint8_t buf[DATAGRAM_MAX];
                struct sockaddr_storage from;
                Datagram d = { .data = buf, .from = &from, .from_len = sizeof(from) };
                ssize_t n;

                n = recvfrom(s->udp_fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT, (struct sockaddr *) &from, &d.from_len);
                if (n < 0)
                        return;
                /* A truncated datagram still has its header: its length
                 * gets the NACK for "too large". */
                d.len = DOIP_MIN((size_t) n, sizeof(buf));
                handle_datagram(s, &d);
        }
}

int doip_server_announce(DoipServer *s, const char *address, uint16_t port) {
        struct sockaddr_storage sa;
        socklen_t sa_len;
        DoipPayload p;
        uint8_t buf[64];
        size_t n;
        int r;

        if (!s || s->udp_fd < 0)
                return -EINVAL;
        r = doip_address_parse(address, port, &sa, &sa_len);
        if (r < 0)
                return r;
        announcement(s, &p);
        r = doip_message_build(buf, sizeof(buf), s->o.version, &p, &n);
        if (r < 0)
                return r;
        if (sendto(s->udp_fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *) &sa, sa_len) < 0)
                return doip_negative_errno();
        return 0;
}
