/* Argument-filtered seccomp rules, as data (see seccomp_args.c).
 *
 * Internal to sandbox/: seccomp_filter.c compiles these tables, and
 * tests/unit/test_seccomp.c checks their invariants.
 */
#ifndef EXTRADITE_SECCOMP_ARGS_H
#define EXTRADITE_SECCOMP_ARGS_H

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The mode bits no confined child may set on a file it creates or
 * changes: a root parent's grant must not hold a setuid-root program. */
#define EX_SETID_BITS ((uint64_t)(S_ISUID | S_ISGID))

struct ex_arg_cmp {
        unsigned arg;
        enum scmp_compare op;
        uint64_t a, b;   /* as in struct scmp_arg_cmp: datum_a, datum_b */
        bool b_is_self;  /* datum_b is the `self` pid, known at build time */
};

/* One alternative: all of its comparisons must hold. Several entries for
 * the same group and name are alternatives (any one allows the call). */
struct ex_arg_rule {
        uint32_t group;
        const char *name;
        unsigned ncmp;
        struct ex_arg_cmp cmp[2];
};

/* A call the stacked after-load filter refuses with `err`: always
 * (ncmp == 0) or when its one comparison holds. */
struct ex_after_load_rule {
        const char *name;
        int err;
        unsigned ncmp;
        struct ex_arg_cmp cmp[1];
};

/* The allow rules of the groups (enum ex_group bits); *n gets the count. */
const struct ex_arg_rule *ex_seccomp_arg_rules(size_t *n);

/* What the stacked filter of a profile with files_after_load = false
 * refuses once the target is loaded: opens and path metadata. */
const struct ex_after_load_rule *ex_seccomp_after_load_rules(size_t *n);

/* The calls that change a file's mode, owner, times or xattrs by path,
 * which Landlock does not govern: no group allows one outright (utimensat
 * is allowed only with a NULL path, i.e. futimens). *n gets the count. */
const char *const *ex_seccomp_path_metadata_writers(size_t *n);
bool ex_seccomp_is_path_metadata_writer(const char *name);

/* The argument index holding a file mode for the calls that create a file
 * or change its mode (open, chmod, mknod...), or -1. An `allow` entry for
 * one of them is allowed only with EX_SETID_BITS clear in it. */
int ex_seccomp_mode_arg(const char *name);

/* Whether one comparison holds for these arguments, as the kernel would
 * evaluate it (for the ops the tables use). */
bool ex_arg_cmp_holds(const struct ex_arg_cmp *c, const uint64_t args[6],
                      pid_t self);

#endif
