/* Standard-library values and big byte strings on the wire (convert.c's
 * helpers for the tags of protocol/codec.h from EX_TAG_ELLIPSIS on).
 *
 * By copy, both directions, exact types only: Ellipsis, range, slice,
 * datetime.date/time/datetime/timedelta/timezone (a time's or datetime's
 * tzinfo must be None or a datetime.timezone), decimal.Decimal,
 * uuid.UUID, fractions.Fraction. Anything else, and a value the codec
 * cannot express (another tzinfo, an int past the big-int cap, a timezone
 * name over 255 bytes), goes to the encode_other hook as before.
 *
 * The types live in module state, loaded on first use: the encoder takes
 * a module from sys.modules only (an object of its type exists, so it was
 * imported) and never imports; the decoder imports the fixed stdlib names
 * "datetime", "decimal", "uuid" and "fractions", never a name the peer
 * chose. A child that loses file access after its import calls
 * ex_convert_preload() first.
 */
#ifndef EXTRADITE_STDVALUES_H
#define EXTRADITE_STDVALUES_H

#include "convert.h"

/* 1 when o was one of ours and is encoded, 0 when it is not (or cannot be
 * expressed; nothing written), -1 with an exception. */
int ex_encode_std(ex_state *st, const struct ex_codec_hooks *h, PyObject *o,
                  struct ex_buf *b, uint32_t max_depth);

/* bytes/bytearray (tag EX_TAG_BYTES/EX_TAG_BYTEARRAY): EX_OOB_MIN bytes
 * and more go out of band in a sealed memfd when h->out_of_band allows,
 * else inline. 0 or -1. */
int ex_encode_bytes(const struct ex_codec_hooks *h, struct ex_buf *b,
                    uint8_t tag, PyObject *o);

/* The object for an item of a tag above (it: what ex_read returned; a
 * slice reads its three items from r). New reference, or NULL with
 * ProtocolError for a value Python refuses or a bad out-of-band fd. */
PyObject *ex_decode_std(ex_state *st, const struct ex_codec_hooks *h,
                        struct ex_reader *r, const struct ex_item *it);

/* Import the stdlib modules the decoder may need, now. 0 or -1. */
int ex_convert_preload(ex_state *st);

#endif
