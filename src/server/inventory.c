/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"

struct Inventory {
        sqlite3 *db;
        pthread_mutex_t lock;
};

static const char schema[] =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=FULL;"
        "PRAGMA foreign_keys=ON;"
        "CREATE TABLE IF NOT EXISTS vehicles (vin TEXT PRIMARY KEY, registered INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS ecus (serial TEXT PRIMARY KEY, vin TEXT NOT NULL REFERENCES vehicles(vin),"
        "  hardware_id TEXT NOT NULL, public_key TEXT NOT NULL, is_primary INTEGER NOT NULL,"
        "  installed TEXT, report_time INTEGER NOT NULL DEFAULT 0, attacks TEXT);"
        "CREATE TABLE IF NOT EXISTS manifests (id INTEGER PRIMARY KEY, vin TEXT NOT NULL, received INTEGER NOT NULL,"
        "  body TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS nonces (serial TEXT NOT NULL, nonce INTEGER NOT NULL, PRIMARY KEY (serial, nonce));"
        "CREATE TABLE IF NOT EXISTS attacks (id INTEGER PRIMARY KEY, vin TEXT, serial TEXT, at INTEGER NOT NULL,"
        "  what TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS results (id INTEGER PRIMARY KEY, vin TEXT NOT NULL, serial TEXT NOT NULL,"
        "  target TEXT NOT NULL, result TEXT NOT NULL, at INTEGER NOT NULL);";

static int sql_error(int rc) {
        switch (rc) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:        return 0;
        case SQLITE_NOMEM:      return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:     return -EBUSY;
        case SQLITE_CONSTRAINT: return -EEXIST;
        case SQLITE_FULL:       return -ENOSPC;
        case SQLITE_READONLY:   return -EROFS;
        case SQLITE_CANTOPEN:   return -ENOENT;
        default:                return -EIO;
        }
}

int inventory_open(const char *path, Inventory **ret) {
        Inventory *inv = calloc(1, sizeof(Inventory));
        int rc;

        if (!inv)
                return -ENOMEM;
        pthread_mutex_init(&inv->lock, NULL);
        rc = sqlite3_open_v2(path, &inv->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_busy_timeout(inv->db, 10000);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(inv->db, schema, NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
                inventory_close(inv);
                return sql_error(rc);
        }
        *ret = inv;
        return 0;
}

Inventory *inventory_close(Inventory *inv) {
        if (!inv)
                return NULL;
        sqlite3_close(inv->db);
        pthread_mutex_destroy(&inv->lock);
        free(inv);
        return NULL;
}

int inventory_begin(Inventory *inv) {
        int rc;

        pthread_mutex_lock(&inv->lock);
        rc = sqlite3_exec(inv->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
                pthread_mutex_unlock(&inv->lock);
                return sql_error(rc);
        }
        return 0;
}

int inventory_commit(Inventory *inv) {
        int rc = sqlite3_exec(inv->db, "COMMIT", NULL, NULL, NULL);

        if (rc != SQLITE_OK) {
                (void) sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
                pthread_mutex_unlock(&inv->lock);
                return sql_error(rc);
        }
        pthread_mutex_unlock(&inv->lock);
        return 0;
}

void inventory_rollback(Inventory *inv) {
        (void) sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
        pthread_mutex_unlock(&inv->lock);
}

/* Prepares sql and binds the arguments: 's' text, 'i' int64, 'b' bool. */
static int prepare(Inventory *inv, sqlite3_stmt **ret, const char *sql, const char *types, ...) {
        sqlite3_stmt *st = NULL;
        va_list ap;
        int rc;

        rc = sqlite3_prepare_v2(inv->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_error(rc);
        va_start(ap, types);
        for (int i = 0; rc == SQLITE_OK && types[i]; i++) {
                if (types[i] == 's') {
                        const char *v = va_arg(ap, const char *);
                        rc = v ? sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i + 1);
                } else if (types[i] == 'i')
                        rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
                else
                        rc = sqlite3_bind_int(st, i + 1, va_arg(ap, int));
        }
        va_end(ap);
        if (rc != SQLITE_OK) {
                sqlite3_finalize(st);
                return sql_error(rc);
        }
        *ret = st;
        return 0;
}

/* Runs a statement that returns no rows. */
static int run(sqlite3_stmt *st) {
        int rc = sqlite3_step(st);

        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : sql_error(rc);
}

static char *column_dup(sqlite3_stmt *st, int i) {
        const unsigned char *t = sqlite3_column_text(st, i);
        return strdup(t ? (const char *) t : "");
}

void inventory_ecu_done(InventoryEcu *e) {
        free(e->serial);
        free(e->vin);
        free(e->hardware_id);
        free(e->public_key);
        memset(e, 0, sizeof(*e));
}

void inventory_ecus_free(InventoryEcu *e, size_t n) {
        for (size_t i = 0; i < n; i++)
                inventory_ecu_done(&e[i]);
        free(e);
}

static int ecu_from_row(sqlite3_stmt *st, InventoryEcu *ret) {
        InventoryEcu e = {
                .serial = column_dup(st, 0),
                .vin = column_dup(st, 1),
                .hardware_id = column_dup(st, 2),
                .public_key = column_dup(st, 3),
                .is_primary = sqlite3_column_int(st, 4) != 0,
        };

        if (!e.serial || !e.vin || !e.hardware_id || !e.public_key) {
                inventory_ecu_done(&e);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

#define ECU_COLUMNS "serial, vin, hardware_id, public_key, is_primary"

int inventory_get_ecu(Inventory *inv, const char *serial, InventoryEcu *ret) {
        sqlite3_stmt *st;
        int r, rc;

        r = prepare(inv, &st, "SELECT " ECU_COLUMNS " FROM ecus WHERE serial = ?", "s", serial);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        r = rc == SQLITE_ROW ? ecu_from_row(st, ret) : rc == SQLITE_DONE ? -ENOENT : sql_error(rc);
        sqlite3_finalize(st);
        return r;
}

int inventory_vehicle_ecus(Inventory *inv, const char *vin, InventoryEcu **ret, size_t *ret_n) {
        InventoryEcu *v = NULL;
        size_t n = 0;
        sqlite3_stmt *st;
        int r, rc;

        r = prepare(inv, &st, "SELECT " ECU_COLUMNS " FROM ecus WHERE vin = ? ORDER BY serial", "s", vin);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                InventoryEcu *nv = realloc(v, (n + 1) * sizeof(InventoryEcu));

                if (!nv) {
                        r = -ENOMEM;
                        break;
                }
                v = nv;
                r = ecu_from_row(st, &v[n]);
                if (r < 0)
                        break;
                n++;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = sql_error(rc);
        sqlite3_finalize(st);
        if (r < 0) {
                inventory_ecus_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int register_ecu(Inventory *inv, const char *vin, const InventoryEcu *e) {
        InventoryEcu old = {};
        sqlite3_stmt *st;
        bool same;
        int r;

        r = inventory_get_ecu(inv, e->serial, &old);
        if (r == -ENOENT) {
                r = prepare(inv, &st, "INSERT INTO ecus (" ECU_COLUMNS ") VALUES (?, ?, ?, ?, ?)", "ssssb",
                            e->serial, vin, e->hardware_id, e->public_key, (int) e->is_primary);
                return r < 0 ? r : run(st);
        }
        if (r < 0)
                return r;
        /* Registering again is fine; taking over a serial is spoofing. */
        same = strcmp(old.vin, vin) == 0 && strcmp(old.public_key, e->public_key) == 0 &&
               strcmp(old.hardware_id, e->hardware_id) == 0 && old.is_primary == e->is_primary;
        inventory_ecu_done(&old);
        return same ? 0 : -EEXIST;
}

int inventory_register(Inventory *inv, const char *vin, const InventoryEcu *ecus, size_t n, time_t now) {
        sqlite3_stmt *st;
        int r;

        r = prepare(inv, &st, "INSERT OR IGNORE INTO vehicles (vin, registered) VALUES (?, ?)", "si", vin,
                    (int64_t) now);
        if (r >= 0)
                r = run(st);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = register_ecu(inv, vin, &ecus[i]);
        return r;
}

int inventory_use_nonce(Inventory *inv, const char *serial, int64_t nonce) {
        sqlite3_stmt *st;
        int r;

        r = prepare(inv, &st, "INSERT INTO nonces (serial, nonce) VALUES (?, ?)", "si", serial, nonce);
        if (r < 0)
                return r;
        r = run(st);
        return r == -EEXIST ? -EALREADY : r;
}

int inventory_last_report_time(Inventory *inv, const char *serial, time_t *ret) {
        sqlite3_stmt *st;
        int r, rc;

        r = prepare(inv, &st, "SELECT report_time FROM ecus WHERE serial = ?", "s", serial);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = (time_t) sqlite3_column_int64(st, 0);
        r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : sql_error(rc);
        sqlite3_finalize(st);
        return r;
}

int inventory_update_ecu(Inventory *inv, const char *serial, const char *installed_json, time_t report_time,
                         const char *attacks) {
        sqlite3_stmt *st;
        int r;

        r = prepare(inv, &st, "UPDATE ecus SET installed = ?, report_time = ?, attacks = ? WHERE serial = ?", "siss",
                    installed_json, (int64_t) report_time, attacks, serial);
        return r < 0 ? r : run(st);
}

int inventory_record_manifest(Inventory *inv, const char *vin, const char *body, size_t len, time_t now) {
        sqlite3_stmt *st;
        int r, rc;

        r = prepare(inv, &st, "INSERT INTO manifests (vin, received, body) VALUES (?, ?, ?)", "si", vin,
                    (int64_t) now);
        if (r < 0)
                return r;
        rc = sqlite3_bind_text(st, 3, body, (int) len, SQLITE_TRANSIENT);
        if (rc != SQLITE_OK) {
                sqlite3_finalize(st);
                return sql_error(rc);
        }
        return run(st);
}

int inventory_record_attack(Inventory *inv, const char *vin, const char *serial, const char *what, time_t now) {
        sqlite3_stmt *st;
        int r;

        r = prepare(inv, &st, "INSERT INTO attacks (vin, serial, at, what) VALUES (?, ?, ?, ?)", "ssis", vin, serial,
                    (int64_t) now, what);
        return r < 0 ? r : run(st);
}

int inventory_record_result(Inventory *inv, const char *vin, const char *serial, const char *target,
                            const char *result, time_t now) {
        sqlite3_stmt *st;
        int r;

        r = prepare(inv, &st, "INSERT INTO results (vin, serial, target, result, at) VALUES (?, ?, ?, ?, ?)",
                    "ssssi", vin, serial, target, result, (int64_t) now);
        return r < 0 ? r : run(st);
}

int inventory_count(Inventory *inv, const char *table, const char *vin, int64_t *ret) {
        static const char *const tables[] = { "manifests", "attacks", "results", "nonces", "ecus", "vehicles" };
        char sql[128];
        sqlite3_stmt *st;
        bool known = false;
        int r, rc;

        /* Table names cannot be bound: only known ones. */
        for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
                known = known || strcmp(table, tables[i]) == 0;
        if (!known)
                return -EINVAL;
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s%s", table,
                 vin && strcmp(table, "nonces") != 0 ? " WHERE vin = ?" : "");
        r = prepare(inv, &st, sql, vin && strcmp(table, "nonces") != 0 ? "s" : "", vin);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int64(st, 0);
        r = rc == SQLITE_ROW ? 0 : sql_error(rc);
        sqlite3_finalize(st);
        return r;
}
