/* A stand-in child for the hostile-frame tests: started by a real session
 * in place of the Python interpreter (same argv: the interpreter's options,
 * -c BOOTSTRAP ROOT CORE, the channel at fd 3), it writes the file named
 * by ROOT onto its channel
 * as it stands (forged frames, prepared by the test), then shuts its
 * sending side, and reads and drops whatever the parent sends until EOF.
 * C, not Python: the test starts thousands of these. */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        static char buf[1 << 16];
        ssize_t n;
        int in, c = 1;

        while (c < argc && strcmp(argv[c], "-c") != 0)
                c++;
        /* ROOT follows the bootstrap code. */
        if (c + 2 >= argc || (in = open(argv[c + 2], O_RDONLY)) < 0)
                return 2;
        while ((n = read(in, buf, sizeof(buf))) > 0)
                for (ssize_t off = 0, k; off < n; off += k)
                        if ((k = write(3, buf + off, (size_t)(n - off))) < 0)
                                return 3; /* the parent gave up on us */
        close(in);
        shutdown(3, SHUT_WR);
        while (read(3, buf, sizeof(buf)) > 0)
                ;
        return 0;
}
