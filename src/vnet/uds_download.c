/* SPDX-License-Identifier: MIT */
/*
 * The server's side of a download (RequestDownload or RequestFileTransfer,
 * then TransferData blocks, then RequestTransferExit): which block counter
 * comes next, whether a block is the previous one repeated after a lost
 * response, and how many bytes may still come. Pure: the caller writes.
 */

#include "uds.h"
#include "uds_util.h"

static int reject(int r, uint8_t nrc, uint8_t *reterr_nrc) {
        if (reterr_nrc)
                *reterr_nrc = nrc;
        return r;
}

int uds_download_start(UdsDownloadState *s, uint64_t total, uint64_t max_block_len) {
        if (!s || max_block_len < UDS_BLOCK_LEN_MIN)
                return -EINVAL;
        if (max_block_len - 2 > SIZE_MAX)
                max_block_len = (uint64_t) SIZE_MAX + 2;
        *s = (UdsDownloadState) {
                .active = true,
                .next_bsc = 0x01,
                .total = total,
                .max_data = (size_t) (max_block_len - 2),
        };
        return 0;
}

/* The previous block again, after its response got lost: same counter, same length. */
static bool is_repeat(const UdsDownloadState *s, uint8_t bsc, size_t data_len) {
        return s->have_block && bsc == (uint8_t) (s->next_bsc - 1) && data_len == s->last_len;
}

int uds_download_block(UdsDownloadState *s, uint8_t bsc, size_t data_len, uint8_t *reterr_nrc) {
        if (!s || !s->active)
                return reject(-ESRCH, UDS_NRC_REQUEST_SEQUENCE_ERROR, reterr_nrc);
        if (data_len == 0)
                return reject(-EBADMSG, UDS_NRC_INCORRECT_MESSAGE_LENGTH_OR_INVALID_FORMAT, reterr_nrc);
        if (data_len > s->max_data)
                return reject(-EMSGSIZE, UDS_NRC_REQUEST_OUT_OF_RANGE, reterr_nrc);
        if (bsc != s->next_bsc)
                return is_repeat(s, bsc, data_len) ?
                        UDS_BLOCK_REPEATED : reject(-EILSEQ, UDS_NRC_WRONG_BLOCK_SEQUENCE_COUNTER, reterr_nrc);
        if (data_len > s->total - s->received) {
                uds_download_abort(s);
                return reject(-EFBIG, UDS_NRC_TRANSFER_DATA_SUSPENDED, reterr_nrc);
        }

        s->received += data_len;
        s->last_len = data_len;
        s->have_block = true;
        s->next_bsc++;          /* FF wraps to 00 */
        return UDS_BLOCK_NEW;
}

int uds_download_finish(UdsDownloadState *s, uint8_t *reterr_nrc) {
        if (!s || !s->active)
                return reject(-ESRCH, UDS_NRC_REQUEST_SEQUENCE_ERROR, reterr_nrc);
        if (s->received != s->total)
                return reject(-EINPROGRESS, UDS_NRC_REQUEST_SEQUENCE_ERROR, reterr_nrc);
        s->active = false;
        return 0;
}

void uds_download_abort(UdsDownloadState *s) {
        if (s)
                *s = (UdsDownloadState) {};
}
