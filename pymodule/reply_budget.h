/* Decoding under the decode budget (protocol/budget.h): the parts of the
 * decoder (convert.c) that know Python objects. */
#ifndef EXTRADITE_REPLY_BUDGET_H
#define EXTRADITE_REPLY_BUDGET_H

#include "convert.h"

/* ProtocolError saying what of r's budget ran out (err: the reader's
 * -EDQUOT or -ETIMEDOUT), the limit, and the setting that raises it;
 * another err as ex_raise_codec_error. Returns NULL. */
PyObject *ex_raise_over_budget(ex_state *st, const struct ex_reader *r,
                               int err);

/* A TypeError from hashing a dict key or set item the peer sent becomes
 * ProtocolError (chained); other errors stay. */
void ex_raise_unhashable(ex_state *st, const char *what);

/* The dict, set or frozenset of item `it` (count >= 2) under r's budget:
 * its keys' equal hashes charged before it is filled. */
PyObject *ex_decode_hashed(ex_state *st, const struct ex_codec_hooks *h,
                           struct ex_reader *r, const struct ex_item *it);

#endif
