/* The httpd stand-in of the bind sample roots (bind-roots.sh): it performs
 * the dlopen()s of a plan file, in order, then calls the `soclash_run` each
 * dlopened object defines itself, so that lazy PLT slots are bound once
 * everything is loaded. Only the plan's handles are used: a dlopen() of a
 * dependency (even RTLD_NOLOAD) would give it a search list of its own and
 * append it to scopes (rule G2.5), which would change what is measured. tests/it/bind_oracle.rs writes the plan from soclash's process model
 * and runs this program under chroot with LD_DEBUG=bindings.
 *
 *   /usr/sbin/apache2 PLAN         (or SOCLASH_PLAN=PLAN /usr/sbin/apache2)
 *
 * Plan lines: `dlopen FLAGS PATH`, FLAGS a number (0x109) or names joined
 * by `|` (RTLD_LAZY|RTLD_GLOBAL|RTLD_DEEPBIND); blank lines and `#`
 * comments are skipped. A failed dlopen stops the program with dlerror()'s
 * message and status 1; a bad plan with status 2.
 *
 * A scenario may link a source file of its own into the program (bind-roots.sh
 * `httpd --source`), e.g. position-dependent code reading a start-up
 * library's data, which gives the program a COPY relocation. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HANDLES 1024

static const struct {
    const char *name;
    int value;
} FLAGS[] = {
    {"RTLD_LAZY", RTLD_LAZY},         {"RTLD_NOW", RTLD_NOW},
    {"RTLD_GLOBAL", RTLD_GLOBAL},     {"RTLD_LOCAL", RTLD_LOCAL},
    {"RTLD_DEEPBIND", RTLD_DEEPBIND}, {"RTLD_NODELETE", RTLD_NODELETE},
    {"RTLD_NOLOAD", RTLD_NOLOAD},
};

static int parse_flags(const char *s, int line) {
    if (s[0] >= '0' && s[0] <= '9') {
        char *end;
        long v = strtol(s, &end, 0);
        if (*end == '\0')
            return (int)v;
    } else {
        int v = 0;
        const char *p = s;
        for (;;) {
            size_t n = strcspn(p, "|");
            size_t k;
            for (k = 0; k < sizeof FLAGS / sizeof FLAGS[0]; k++)
                if (strlen(FLAGS[k].name) == n && strncmp(FLAGS[k].name, p, n) == 0)
                    break;
            if (k == sizeof FLAGS / sizeof FLAGS[0])
                break;
            v |= FLAGS[k].value;
            if (p[n] == '\0')
                return v;
            p += n + 1;
        }
    }
    fprintf(stderr, "driver: plan line %d: bad flags '%s'\n", line, s);
    exit(2);
}

int main(int argc, char **argv) {
    const char *plan = argc > 1 ? argv[1] : getenv("SOCLASH_PLAN");
    if (plan == NULL) {
        fprintf(stderr, "usage: %s PLAN (or SOCLASH_PLAN=PLAN)\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(plan, "r");
    if (f == NULL) {
        perror(plan);
        return 2;
    }
    static void *handles[MAX_HANDLES];
    static char names[MAX_HANDLES][4096];
    char buf[4096];
    int line = 0, opened = 0;
    while (fgets(buf, sizeof buf, f) != NULL) {
        line++;
        buf[strcspn(buf, "\n")] = '\0';
        char *save = NULL;
        char *verb = strtok_r(buf, " \t", &save);
        if (verb == NULL || verb[0] == '#')
            continue;
        char *flags = strtok_r(NULL, " \t", &save);
        char *path = strtok_r(NULL, " \t", &save);
        if (strcmp(verb, "dlopen") != 0 || flags == NULL || path == NULL ||
            strtok_r(NULL, " \t", &save) != NULL) {
            fprintf(stderr, "driver: plan line %d: expected `dlopen FLAGS PATH`\n", line);
            return 2;
        }
        if (opened == MAX_HANDLES) {
            fprintf(stderr, "driver: plan line %d: more than %d dlopens\n", line, MAX_HANDLES);
            return 2;
        }
        int mode = parse_flags(flags, line);
        void *h = dlopen(path, mode);
        if (h == NULL) {
            fprintf(stderr, "driver: dlopen(%s, %s) failed: %s\n", path, flags, dlerror());
            return 1;
        }
        printf("dlopen %s %s\n", flags, path);
        handles[opened] = h;
        snprintf(names[opened], sizeof names[opened], "%s", path);
        opened++;
    }
    fclose(f);
    /* Everything is loaded: call each handle's own soclash_run (not one of
     * its dependencies'), in plan order. */
    int ran = 0;
    for (int k = 0; k < opened; k++) {
        void *run = dlsym(handles[k], "soclash_run");
        struct link_map *self = NULL, *owner = NULL;
        Dl_info info;
        if (run == NULL || dlinfo(handles[k], RTLD_DI_LINKMAP, &self) != 0 ||
            dladdr1(run, &info, (void **)&owner, RTLD_DL_LINKMAP) == 0 || owner != self)
            continue;
        int (*fn)(void) = (int (*)(void))run;
        printf("run %s %d\n", names[k], fn());
        ran++;
    }
    printf("ok %d opened, %d run\n", opened, ran);
    return 0;
}
