/* SPDX-License-Identifier: MIT */
/* org.uptane.Primary1 on sd-bus: a vtable whose getters ask the daemon. See bus.h and docs/dbus.md. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })

#define BUS_NAME "org.uptane.Primary1"
#define BUS_PATH "/org/uptane/Primary1"
#define BUS_INTERFACE "org.uptane.Primary1"
#define BUS_ERROR_BUSY "org.uptane.Primary1.Error.Busy"

struct Bus {
        sd_bus *bus;
        sd_bus_slot *slot;
        BusProvider provider;
};

static inline void freep(void *p) {
        free(*(void **) p);
}

static void bus_closep(Bus **b) {
        *b = bus_close(*b);
}

static int streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

/* The length of the UTF-8 sequence at s that sd-bus accepts in a string, 0 if none. */
static size_t utf8_char_length(const unsigned char *s) {
        size_t n;
        uint32_t c;

        if (s[0] < 0x80)
                return 1;
        n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
        if (n == 0 || s[0] >= 0xf5)
                return 0;
        c = s[0] & (0x7f >> n);
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates, beyond U+10FFFF and noncharacters: sd-bus refuses them all. */
        if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
            (c >= 0xd800 && c <= 0xdfff) || (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe)
                return 0;
        return n;
}

/* Appends s ("" for NULL) as "s". A bad byte (say in a server's error text)
 * becomes '?' rather than failing the whole property read. */
static int append_string(sd_bus_message *m, const char *s) {
        _cleanup_(freep) char *copy = NULL;
        size_t n;

        if (!s)
                s = "";
        for (n = 0; s[n]; ) {
                size_t l = utf8_char_length((const unsigned char *) s + n);
                if (l == 0)
                        break;
                n += l;
        }
        if (!s[n])
                return sd_bus_message_append_basic(m, 's', s);

        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        for (size_t i = n; copy[i]; ) {
                size_t l = utf8_char_length((const unsigned char *) copy + i);
                if (l == 0) {
                        copy[i] = '?';
                        l = 1;
                }
                i += l;
        }
        return sd_bus_message_append_basic(m, 's', copy);
}

static int property_get(_unused_ sd_bus *bus, _unused_ const char *path, _unused_ const char *interface,
                        const char *property, sd_bus_message *reply, void *userdata,
                        _unused_ sd_bus_error *error) {
        Bus *b = userdata;
        BusStatus s = {};

        b->provider.get_status(b->provider.userdata, &s);
        if (streq(property, "State"))
                return append_string(reply, s.state);
        if (streq(property, "Progress"))
                return sd_bus_message_append(reply, "(tt)", s.progress_done, s.progress_total);
        if (streq(property, "LastCheck"))
                return sd_bus_message_append(reply, "t", s.last_check_usec);
        if (streq(property, "LastResult"))
                return append_string(reply, s.last_result);
        if (streq(property, "NextCheck"))
                return sd_bus_message_append(reply, "t", s.next_check_usec);
        if (streq(property, "Vin"))
                return append_string(reply, s.vin);
        if (streq(property, "PrimarySerial"))
                return append_string(reply, s.primary_serial);
        return -ENOENT; /* not reached: the vtable names only these */
}

static int append_ecu(sd_bus_message *m, const BusEcu *e) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "ssbsss");
        if (r < 0)
                return r;
        r = append_string(m, e->serial);
        if (r >= 0)
                r = append_string(m, e->hardware_id);
        if (r >= 0)
                r = sd_bus_message_append(m, "b", (int) e->primary);
        if (r >= 0)
                r = append_string(m, e->installed_target);
        if (r >= 0)
                r = append_string(m, e->installed_sha256);
        if (r >= 0)
                r = append_string(m, e->pending_target);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int method_get_ecus(sd_bus_message *m, void *userdata, _unused_ sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Bus *b = userdata;
        const BusEcu *ecus = NULL;
        size_t n = 0;
        int r;

        b->provider.get_ecus(b->provider.userdata, &ecus, &n);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssbsss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = append_ecu(reply, &ecus[i]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_check_now(sd_bus_message *m, void *userdata, _unused_ sd_bus_error *error) {
        Bus *b = userdata;
        int r;

        r = b->provider.check_now(b->provider.userdata);
        if (r == -EBUSY)
                return sd_bus_reply_method_errorf(m, BUS_ERROR_BUSY, "An update check is already running");
        if (r < 0)
                return sd_bus_reply_method_errno(m, r, NULL);
        return sd_bus_reply_method_return(m, NULL);
}

/* Who may call what is the bus policy's business (systemd/org.uptane.Primary1.conf),
 * so no method asks sd-bus for CAP_SYS_ADMIN on top: UNPRIVILEGED. */
static const sd_bus_vtable primary_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Progress", "(tt)", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastCheck", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastResult", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NextCheck", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* From the configuration: fixed for the life of the process. */
        SD_BUS_PROPERTY("Vin", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PrimarySerial", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("CheckNow", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
                                method_check_now, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetEcus", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssbsss)", ecus),
                                method_get_ecus, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int bus_connect(BusKind kind, const char *address, sd_bus **ret) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;

        switch (kind) {
        case BUS_KIND_SYSTEM:
                return sd_bus_open_system(ret); /* honours DBUS_SYSTEM_BUS_ADDRESS */
        case BUS_KIND_USER:
                return sd_bus_open_user(ret);
        case BUS_KIND_ADDRESS:
                break;
        default:
                return -EINVAL;
        }
        if (!address)
                return -EINVAL;
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

int bus_open(sd_event *e, BusKind kind, const char *address, const BusProvider *p, Bus **ret) {
        _cleanup_(bus_closep) Bus *b = NULL;
        int r;

        assert(e);
        assert(p);
        assert(ret);
        if (!p->get_status || !p->get_ecus || !p->check_now)
                return -EINVAL;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->provider = *p;
        r = bus_connect(kind, address, &b->bus);
        if (r < 0)
                return r;
        /* A lost bus stops the loop (EXIT_FAILURE) rather than leaving a daemon nobody can reach. */
        r = sd_bus_set_exit_on_disconnect(b->bus, true);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(b->bus, e, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        /* The object first, so that whoever sees the name finds it. */
        r = sd_bus_add_object_vtable(b->bus, &b->slot, BUS_PATH, BUS_INTERFACE, primary_vtable, b);
        if (r < 0)
                return r;
        /* No queueing: -EEXIST when another process owns the name, -EACCES when the policy says no. */
        r = sd_bus_request_name(b->bus, BUS_NAME, 0);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

Bus *bus_close(Bus *b) {
        if (!b)
                return NULL;
        sd_bus_slot_unref(b->slot);
        sd_bus_flush_close_unref(b->bus);
        free(b);
        return NULL;
}

void bus_emit_status_changed(Bus *b) {
        if (!b)
                return;
        /* Best effort: a lost signal costs listeners one refresh, not correctness. */
        (void) sd_bus_emit_properties_changed(b->bus, BUS_PATH, BUS_INTERFACE,
                                              "State", "Progress", "LastCheck", "LastResult", "NextCheck",
                                              NULL);
}
