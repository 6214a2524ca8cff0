/* SPDX-License-Identifier: MIT */
/* The ISO-TP link (src/vnet/isotp.h) on the host: option checks, the size
 * limit, and a clean -EAFNOSUPPORT where the kernel has no CAN. The real
 * transfers run in the VM (tests/vm/isotp-smoke.sh). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "isotp.h"

START_TEST(test_options) {
        IsotpOptions o = isotp_options_default(0x7E0, 0x7E8);

        ck_assert_uint_eq(o.tx_id, 0x7E0);
        ck_assert_uint_eq(o.rx_id, 0x7E8);
        ck_assert_int_eq(o.padding, -1);
        ck_assert(!o.can_fd);
        ck_assert_uint_eq(o.tx_dl, 8);
        ck_assert_int_eq(isotp_options_check(&o), 0);
        ck_assert_int_eq(isotp_options_check(NULL), -EINVAL);

        o.rx_id = 0x7E0;
        ck_assert_int_eq(isotp_options_check(&o), -EINVAL);
        o.rx_id = 0x800;
        ck_assert_int_eq(isotp_options_check(&o), -EINVAL);
        o = isotp_options_default(0x18DA10F1, 0x18DAF110);
        ck_assert_int_eq(isotp_options_check(&o), -EINVAL);
        o.extended_ids = true;
        ck_assert_int_eq(isotp_options_check(&o), 0);
        o.tx_id = 0x20000000;
        ck_assert_int_eq(isotp_options_check(&o), -EINVAL);

        o = isotp_options_default(0x7E0, 0x7E8);
        o.padding = 0xCC;
        ck_assert_int_eq(isotp_options_check(&o), 0);
        o.padding = 256;
        ck_assert_int_eq(isotp_options_check(&o), -EINVAL);
        o.padding = -2;
        ck_assert_int_eq(isotp_options_check(&o), -EINVAL);

        o = isotp_options_default(0x7E0, 0x7E8);
        o.block_size = 8;
        o.stmin = 0x7F;
        ck_assert_int_eq(isotp_options_check(&o), 0);
        o.stmin = 0xF1;
        ck_assert_int_eq(isotp_options_check(&o), 0);
        o.stmin = 0xF9;
        ck_assert_int_eq(isotp_options_check(&o), 0);
        o.stmin = 0x80;
        ck_assert_int_eq(isotp_options_check(&o), -EINVAL);
        o.stmin = 0xF0;
        ck_assert_int_eq(isotp_options_check(&o), -EINVAL);
        o.stmin = 0xFA;
        ck_assert_int_eq(isotp_options_check(&o), -EINVAL);
        o.stmin = 0;
        o.tx_stmin_usec = 1000;
        ck_assert_int_eq(isotp_options_check(&o), 0);
        o.tx_stmin_usec = UINT32_MAX;
        ck_assert_int_eq(isotp_options_check(&o), -EINVAL);

        o = isotp_options_default(0x7E0, 0x7E8);
        ck_assert_uint_eq(o.frame_txtime_usec, 0);
        o.frame_txtime_usec = ISOTP_FRAME_TXTIME_NONE;
        ck_assert_int_eq(isotp_options_check(&o), 0);
        o.frame_txtime_usec = 1000;
        ck_assert_int_eq(isotp_options_check(&o), 0);
        o.frame_txtime_usec = UINT32_MAX / 1000;
        ck_assert_int_eq(isotp_options_check(&o), -EINVAL);

        o = isotp_options_default(0x7E0, 0x7E8);
        o.tx_dl = 64;
        ck_assert_int_eq(isotp_options_check(&o), -EINVAL);     /* classic CAN: 8 */
        o.can_fd = true;
        ck_assert_int_eq(isotp_options_check(&o), 0);
        for (unsigned dl = 0; dl <= 70; dl++) {
                bool legal = dl == 8 || dl == 12 || dl == 16 || dl == 20 || dl == 24 || dl == 32 || dl == 48 ||
                             dl == 64;

                o.tx_dl = (uint8_t) dl;
                ck_assert_int_eq(isotp_options_check(&o), legal ? 0 : -EINVAL);
        }
}
END_TEST

START_TEST(test_open) {
        IsotpOptions o = isotp_options_default(0x7E0, 0x7E8), bad = o;
        IsotpLink *l = (IsotpLink *) 0x1;
        int r;

        bad.rx_id = bad.tx_id;
        ck_assert_int_eq(isotp_link_open("vcan0", &bad, &l), -EINVAL);
        ck_assert_int_eq(isotp_link_open("", &o, &l), -EINVAL);
        ck_assert_int_eq(isotp_link_open("an-interface-name-too-long", &o, &l), -EINVAL);
        ck_assert_int_eq(isotp_link_open(NULL, &o, &l), -EINVAL);
        ck_assert_int_eq(isotp_link_open("vcan0", NULL, &l), -EINVAL);

        /* Without CAN in the kernel (this host): -EAFNOSUPPORT; with CAN but
         * without can-isotp: -EPROTONOSUPPORT; with both: no such interface. */
        r = isotp_link_open("nosuchcan9", &o, &l);
        ck_assert_msg(r == -EAFNOSUPPORT || r == -EPROTONOSUPPORT || r == -ENODEV, "isotp_link_open: %d", r);
        ck_assert_ptr_eq(l, (IsotpLink *) 0x1);
}
END_TEST

START_TEST(test_send_limits) {
        uint8_t *big = calloc(1, ISOTP_PDU_MAX + 1);
        uint8_t *rsp;
        size_t len;

        ck_assert_ptr_nonnull(big);
        ck_assert_uint_eq(ISOTP_PDU_MAX, 66000);
        ck_assert_int_eq(isotp_link_send(NULL, big, ISOTP_PDU_MAX + 1), -EFBIG);
        ck_assert_int_eq(isotp_link_send(NULL, big, 0), -EINVAL);
        ck_assert_int_eq(isotp_link_send(NULL, big, 1), -EINVAL);
        ck_assert_int_eq(isotp_link_recv(NULL, &rsp, &len, 0), -EINVAL);
        ck_assert_int_eq(isotp_link_fd(NULL), -EINVAL);
        ck_assert_ptr_null(isotp_link_free(NULL));
        free(big);
}
END_TEST

START_TEST(test_transport_shape) {
        UdsTransport t = isotp_link_transport(NULL);

        ck_assert_ptr_nonnull(t.send);
        ck_assert_ptr_nonnull(t.recv);
        ck_assert_ptr_null(t.userdata);
        ck_assert_int_eq(t.send(t.userdata, (const uint8_t *) "x", ISOTP_PDU_MAX + 1), -EFBIG);
}
END_TEST

static Suite *isotp_suite(void) {
        Suite *s = suite_create("vnet_uds_isotp");
        TCase *tc = tcase_create("host");

        tcase_add_test(tc, test_options);
        tcase_add_test(tc, test_open);
        tcase_add_test(tc, test_send_limits);
        tcase_add_test(tc, test_transport_shape);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(isotp_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
