/* The parent's side of `python -m extradite learn` (see learn.h). */
#include "learn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "cleanup.h"
#include "policy.h"
#include "sandbox.h"
#include "seccomp_filter.h"

/* Most calls one learning run keeps; later ones are only counted. */
#define MAX_RECORDS 200000

/* Where a path-taking call keeps its paths: the argument holding the
 * directory fd (-1: relative to the cwd) and the one holding the path
 * pointer, for up to two paths (rename, link). */
struct path_args {
        const char *name;
        int dirfd[2];
        int path[2];
};

static const struct path_args path_calls[] = {
        {"open", {-1, -1}, {0, -1}},
        {"openat", {0, -1}, {1, -1}},
        {"creat", {-1, -1}, {0, -1}},
        {"mkdir", {-1, -1}, {0, -1}},
        {"mkdirat", {0, -1}, {1, -1}},
        {"rmdir", {-1, -1}, {0, -1}},
        {"unlink", {-1, -1}, {0, -1}},
        {"unlinkat", {0, -1}, {1, -1}},
        {"rename", {-1, -1}, {0, 1}},
        {"renameat", {0, 2}, {1, 3}},
        {"renameat2", {0, 2}, {1, 3}},
        {"truncate", {-1, -1}, {0, -1}},
        {"link", {-1, -1}, {0, 1}},
        {"linkat", {0, 2}, {1, 3}},
        {"symlink", {-1, -1}, {1, -1}}, /* the link made, not its target */
        {"symlinkat", {1, -1}, {2, -1}},
        {"mknod", {-1, -1}, {0, -1}},
        {"mknodat", {0, -1}, {1, -1}},
};

struct record {
        int64_t t_ns;
        pid_t pid;
        int nr;
        uint64_t args[6];
        char *path[2]; /* absolute when it could be resolved; NULL: none */
};

struct recording {
        struct record *v;
        size_t n, cap;
        size_t dropped;
};

static void recording_free(struct recording *rec)
{
        for (size_t i = 0; i < rec->n; i++) {
                free(rec->v[i].path[0]);
                free(rec->v[i].path[1]);
        }
        free(rec->v);
        *rec = (struct recording){0};
}

static int64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A NUL-terminated string at `addr` in process `pid`, read through
 * /proc/PID/mem page by page (a string may end just before an unmapped
 * page). The process may change it meanwhile: fine for learning, which
 * only records, and the notification id is checked afterwards. */
static char *read_string(pid_t pid, uint64_t addr)
{
        char file[64], *buf;
        size_t got = 0;
        _cleanup_close_ int fd = -1;
        long page = sysconf(_SC_PAGESIZE);

        if (addr == 0)
                return NULL;
        snprintf(file, sizeof(file), "/proc/%d/mem", (int)pid);
        fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        buf = malloc(PATH_MAX);
        if (!buf)
                return NULL;
        while (got < PATH_MAX - 1) {
                uint64_t at = addr + got;
                size_t want = (size_t)(page - (long)(at % (uint64_t)page));
                ssize_t k;

                if (want > PATH_MAX - 1 - got)
                        want = PATH_MAX - 1 - got;
                k = pread(fd, buf + got, want, (off_t)at);
                if (k <= 0)
                        break;
                if (memchr(buf + got, '\0', (size_t)k))
                        return buf; /* terminated inside what was read */
                got += (size_t)k;
        }
        free(buf);
        return NULL;
}

/* `path` made absolute against the directory fd `dirfd` of `pid` (or its
 * cwd); takes ownership of path. */
static char *absolute(pid_t pid, int dirfd, char *path)
{
        char link[64], dir[PATH_MAX], *out;
        ssize_t n;

        if (!path || path[0] == '/')
                return path;
        if (dirfd == AT_FDCWD || dirfd < 0)
                snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
        else
                snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid,
                         dirfd);
        n = readlink(link, dir, sizeof(dir) - 1);
        if (n <= 0 || dir[0] != '/')
                return path; /* left relative: the caller says so */
        dir[n] = '\0';
        out = malloc((size_t)n + strlen(path) + 2);
        if (out)
                sprintf(out, "%s/%s", strcmp(dir, "/") ? dir : "", path);
        free(path);
        return out;
}

static const struct path_args *path_args_of(int nr)
{
        for (size_t i = 0; i < sizeof(path_calls) / sizeof(*path_calls); i++)
                if (ex_syscall_number(path_calls[i].name) == nr)
                        return &path_calls[i];
        return NULL;
}

static void record(struct recording *rec, const struct seccomp_notif *req)
{
        const struct path_args *pa = path_args_of(req->data.nr);
        struct record *r;

        if (rec->n == MAX_RECORDS) {
                rec->dropped++;
                return;
        }
        if (rec->n == rec->cap) {
                size_t cap = rec->cap ? rec->cap * 2 : 256;
                void *nv = realloc(rec->v, cap * sizeof(*rec->v));

                if (!nv) {
                        rec->dropped++;
                        return;
                }
                rec->v = nv;
                rec->cap = cap;
        }
        r = &rec->v[rec->n++];
        *r = (struct record){.t_ns = now_ns(),
                             .pid = (pid_t)req->pid,
                             .nr = req->data.nr};
        memcpy(r->args, req->data.args, sizeof(r->args));
        for (int k = 0; pa && k < 2; k++) {
                if (pa->path[k] < 0)
                        continue;
                r->path[k] = absolute(
                        r->pid,
                        pa->dirfd[k] < 0 ? AT_FDCWD
                                         : (int)(int32_t)r->args[pa->dirfd[k]],
                        read_string(r->pid, r->args[pa->path[k]]));
        }
}

/* Receive, record and let through notifications until every process of the
 * filter is gone (POLLHUP) or stop_fd becomes readable. 0 or -errno. */
static int serve(int fd, int stop_fd, struct recording *rec)
{
        struct seccomp_notif *req = NULL;
        struct seccomp_notif_resp *resp = NULL;
        int r = seccomp_notify_alloc(&req, &resp);

        if (r < 0)
                return r;
        for (;;) {
                struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                                      {.fd = stop_fd, .events = POLLIN}};

                if (poll(p, stop_fd >= 0 ? 2 : 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (p[1].revents) {
                        r = 0;
                        break;
                }
                if (p[0].revents & POLLIN) {
                        memset(req, 0, sizeof(*req));
                        r = seccomp_notify_receive(fd, req);
                        if (r == -ENOENT || r == -EINTR)
                                continue; /* the caller went away */
                        if (r < 0)
                                break;
                        record(rec, req);
                        /* Run the call as if no filter had seen it. */
                        *resp = (struct seccomp_notif_resp){
                                .id = req->id,
                                .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};
                        r = seccomp_notify_respond(fd, resp);
                        if (r < 0 && r != -ENOENT)
                                break;
                        continue;
                }
                if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
                        r = 0; /* no process uses the filter any more */
                        break;
                }
        }
        seccomp_notify_free(req, resp);
        return r;
}

static PyObject *opt_str(const char *s)
{
        return s ? PyUnicode_DecodeFSDefault(s) : Py_NewRef(Py_None);
}

static PyObject *records_to_list(const struct recording *rec)
{
        PyObject *list = PyList_New((Py_ssize_t)rec->n);

        for (size_t i = 0; list && i < rec->n; i++) {
                const struct record *r = &rec->v[i];
                PyObject *item = Py_BuildValue(
                        "{sLsisis(KKKKKK)s(NN)}", "time_ns", (long long)r->t_ns,
                        "pid", (int)r->pid, "nr", r->nr, "args",
                        (unsigned long long)r->args[0],
                        (unsigned long long)r->args[1],
                        (unsigned long long)r->args[2],
                        (unsigned long long)r->args[3],
                        (unsigned long long)r->args[4],
                        (unsigned long long)r->args[5], "paths",
                        opt_str(r->path[0]), opt_str(r->path[1]));

                if (!item) {
                        Py_CLEAR(list);
                        break;
                }
                PyList_SET_ITEM(list, (Py_ssize_t)i, item);
        }
        return list;
}

PyObject *ex_learn_serve(PyObject *Py_UNUSED(module), PyObject *args)
{
        struct recording rec = {0};
        PyObject *list;
        size_t dropped;
        int fd, stop_fd, r;

        if (!PyArg_ParseTuple(args, "ii:learn_serve", &fd, &stop_fd))
                return NULL;
        Py_BEGIN_ALLOW_THREADS
        r = serve(fd, stop_fd, &rec);
        Py_END_ALLOW_THREADS
        if (r < 0) {
                recording_free(&rec);
                errno = -r;
                return PyErr_SetFromErrno(PyExc_OSError);
        }
        list = records_to_list(&rec);
        dropped = rec.dropped;
        recording_free(&rec);
        if (!list)
                return NULL;
        return Py_BuildValue("(Nn)", list, (Py_ssize_t)dropped);
}

PyObject *ex_learn_classify(PyObject *Py_UNUSED(module), PyObject *args)
{
        uint64_t a[6];
        unsigned long long v[6];
        int nr, pid;
        uint32_t bits;
        char name[64];
        PyObject *groups;

        if (!PyArg_ParseTuple(args, "i(KKKKKK)i:learn_classify", &nr, &v[0],
                              &v[1], &v[2], &v[3], &v[4], &v[5], &pid))
                return NULL;
        for (int i = 0; i < 6; i++)
                a[i] = v[i];
        bits = ex_seccomp_groups_allowing(nr, a, (pid_t)pid);
        ex_syscall_name(nr, name, sizeof(name));
        groups = ex_group_list(bits);
        return groups ? Py_BuildValue("(sN)", name, groups) : NULL;
}
