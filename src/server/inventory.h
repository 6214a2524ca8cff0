/* SPDX-License-Identifier: MIT */
#pragma once

/* The Director's inventory database (Uptane 2.1 §5.3.2.2): vehicles, their
 * ECUs with keys, the manifests received, nonces used, attacks reported and
 * the results of assignments. SQLite in WAL mode: an answer of 2xx is given
 * only after the transaction is on disk. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct Inventory Inventory;

typedef struct InventoryEcu {
        char *serial;
        char *vin;
        char *hardware_id;
        char *public_key; /* TUF public key object, JSON text */
        bool is_primary;
} InventoryEcu;

void inventory_ecu_done(InventoryEcu *e);

int inventory_open(const char *path, Inventory **ret);
Inventory *inventory_close(Inventory *inv);

/* One transaction at a time (the connection is shared by the server's threads). */
int inventory_begin(Inventory *inv);
int inventory_commit(Inventory *inv);
void inventory_rollback(Inventory *inv);

/* Registers a vehicle and its ECUs (inside a transaction). An ECU serial
 * registered before with another key, vehicle or role is -EEXIST. */
int inventory_register(Inventory *inv, const char *vin, const InventoryEcu *ecus, size_t n, time_t now);
int inventory_get_ecu(Inventory *inv, const char *serial, InventoryEcu *ret); /* -ENOENT */
int inventory_vehicle_ecus(Inventory *inv, const char *vin, InventoryEcu **ret, size_t *ret_n);
void inventory_ecus_free(InventoryEcu *e, size_t n);

/* -EALREADY when the ECU used this nonce before (a replayed report). */
int inventory_use_nonce(Inventory *inv, const char *serial, int64_t nonce);
/* The time in the ECU's last accepted report; 0 when none. */
int inventory_last_report_time(Inventory *inv, const char *serial, time_t *ret);
int inventory_update_ecu(Inventory *inv, const char *serial, const char *installed_json, time_t report_time,
                         const char *attacks);
int inventory_record_manifest(Inventory *inv, const char *vin, const char *body, size_t len, time_t now);
int inventory_record_attack(Inventory *inv, const char *vin, const char *serial, const char *what, time_t now);
int inventory_record_result(Inventory *inv, const char *vin, const char *serial, const char *target,
                            const char *result, time_t now);
int inventory_count(Inventory *inv, const char *table, const char *vin, int64_t *ret);
