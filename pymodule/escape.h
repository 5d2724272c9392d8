/* Text from the other side, made safe to show (DESIGN §1).
 *
 * The child is hostile and chooses the text of its errors, reprs and class
 * metadata. Printed as is, ESC/CSI/OSC sequences in it would drive the
 * user's terminal (clear it, retitle it, write the clipboard with OSC 52)
 * and bidi overrides would make it read otherwise than it is. Everything
 * the parent shows of such text goes through ex_escape_text(); the raw
 * text stays where code asks for it (remote_message, remote_traceback).
 */
#ifndef EXTRADITE_ESCAPE_H
#define EXTRADITE_ESCAPE_H

#include "compat.h"

/* What to keep: EX_TEXT_LINE escapes every control character (names, type
 * names); EX_TEXT_LINES keeps \n and \t, which are structure in messages,
 * tracebacks, reprs and docstrings. */
enum ex_text_mode { EX_TEXT_LINE = 0, EX_TEXT_LINES = 1 };

/* A str like `text` (a str) with C0 controls, DEL, C1 controls and the
 * bidi controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069)
 * written as \xNN or \uNNNN (\n, \r, \t as repr writes them); other text,
 * backslashes included, as it is.
 * A new reference (`text` itself when nothing needs escaping and it is an
 * exact str), or NULL with TypeError (not a str) or MemoryError. */
PyObject *ex_escape_text(PyObject *text, enum ex_text_mode mode);

/* _core.escape_text(text, lines=False): the same, for the Python layer. */
PyObject *ex_escape_text_py(PyObject *module, PyObject *args, PyObject *kw);

#endif
