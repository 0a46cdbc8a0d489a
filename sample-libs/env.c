/* The oracle's `env -i NAME=VALUE... PROGRAM ARGS...`, linked statically:
 * a dynamically linked env would itself be started by the root's loader,
 * and the root's /etc/ld.so.preload (case L14-ld-so-preload) would apply
 * to it and write its own messages. */
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char *envp[64];
    int n = 0, i = 1;
    for (; i < argc && strchr(argv[i], '=') != NULL && n < 63; i++)
        envp[n++] = argv[i];
    envp[n] = NULL;
    if (i >= argc)
        return 127;
    execve(argv[i], argv + i, envp);
    return 127;
}
