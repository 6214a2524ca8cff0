/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Uptane-over-UDS mapping (docs/POUF.md, "Uptane over UDS"): which
 * standard diagnostic service, data identifier and routine carries each step
 * of the Primary <-> Secondary exchange of Uptane 2.1 §5.4.2. Identifiers
 * other than ISO 14229-1's standard ones come from the ranges the standard
 * leaves to vehicle manufacturers.
 */

/* ReadDataByIdentifier (0x22) */
#define UPTANE_DID_VIN              0xF190u /* standard: VIN (17 bytes ASCII) */
#define UPTANE_DID_ECU_SERIAL       0xF18Cu /* standard: ECU serial number (the Uptane ECU serial) */
#define UPTANE_DID_HARDWARE_ID      0xF191u /* standard: ECU hardware number (the Uptane hardware id) */
#define UPTANE_DID_PUBLIC_KEY       0xF1A0u /* manufacturer: the ECU's public key, TUF key JSON */
#define UPTANE_DID_VERSION_REPORT   0xF1A1u /* manufacturer: the signed ECU version report (JSON) */
#define UPTANE_DID_NONCE            0xF1A2u /* manufacturer: the current nonce, int64 big-endian */
#define UPTANE_DID_VERIFICATION     0xF1A3u /* manufacturer: "full" or "partial" */

/* WriteDataByIdentifier (0x2E) */
#define UPTANE_DID_TIME_ATTESTATION 0xF1A4u /* manufacturer: the time server's attestation (JSON) */

/* RequestFileTransfer (0x38, mode 0x03 replaceFile) + TransferData (0x36) +
 * RequestTransferExit (0x37): file paths, relative, ASCII. */
#define UPTANE_PATH_DIRECTOR_PREFIX "director/" /* director/root.json, director/targets.json, ... */
#define UPTANE_PATH_IMAGE_PREFIX    "image/"    /* image/timestamp.json, ... (full verification only) */
#define UPTANE_PATH_TARGET_PREFIX   "target/"   /* target/NAME: the image itself */

/* RoutineControl (0x31): start (0x01), requestRoutineResults (0x03). */
#define UPTANE_RID_VERIFY_METADATA  0x0A01u /* full or partial verification of what was transferred */
#define UPTANE_RID_INSTALL          0x0A02u /* check the image against verified metadata, install it */

/* Routine status record: result, then attack class, then UTF-8 text. */
#define UPTANE_ROUTINE_OK           0x00u
#define UPTANE_ROUTINE_REJECTED     0x01u /* verification failed: nothing installed */
#define UPTANE_ROUTINE_FAILED       0x02u /* install failed: the previous slot stays */

/* Sessions (0x10): reads work in any session; transfers, writes and the
 * routines need the programming session (0x02), else NRC 0x7F / 0x7E. */
#define UPTANE_SESSION_PROGRAMMING  0x02u

/* DoIP logical addresses: the Primary tests as 0x0E80; Secondaries are
 * configured (0x0001-0x0DFF or 0x1000-0x7FFF). */
#define UPTANE_DOIP_TESTER_ADDRESS  0x0E80u
