/* replay.c: run a fuzz target over every file of a corpus directory (the
 * arguments may also be files). Used by ctest so that every corpus input is
 * replayed on every build, sanitizers included. Exits non-zero on an empty corpus. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0, r;
    uint8_t *p = malloc(cap);
    while (p && (r = fread(p + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            p = realloc(p, cap *= 2);
    }
    fclose(f);
    if (!p)
        return -1;
    /* An exact-size copy, so ASan sees reads past the end. */
    uint8_t *q = malloc(n ? n : 1);
    memcpy(q, p, n);
    free(p);
    LLVMFuzzerTestOneInput(q, n);
    free(q);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s does not exist\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.')
                    continue;
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
                if (run_file(path) == 0)
                    files++;
            }
            if (d)
                closedir(d);
        } else if (run_file(argv[i]) == 0) {
            files++;
        }
    }
    printf("replayed %d inputs\n", files);
    return files > 0 ? 0 : 1;
}
