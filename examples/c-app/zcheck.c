/* zcheck: compress a file (or a built-in sample) with zlib and report the result.
 *
 *   zcheck            compress the built-in sample text
 *   zcheck FILE       compress FILE ("-" reads standard input)
 *
 * Prints one line: zlib version, input and output sizes, ratio and CRC-32, and checks that
 * the data decompresses back to the input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char SAMPLE[] =
    "Image size = base image + essential files + cruft.\n"
    "Image size = base image + essential files + cruft.\n"
    "Image size = base image + essential files + cruft.\n"
    "Every RUN commits a layer, and layers only ever add.\n";

static unsigned char *read_all(FILE *in, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) return NULL;
    for (;;) {
        if (n == cap) {
            unsigned char *bigger = realloc(buf, cap *= 2);
            if (!bigger) { free(buf); return NULL; }
            buf = bigger;
        }
        size_t got = fread(buf + n, 1, cap - n, in);
        n += got;
        if (got == 0) break;
    }
    if (ferror(in)) { free(buf); return NULL; }
    *len = n;
    return buf;
}

int main(int argc, char **argv) {
    const unsigned char *data = (const unsigned char *)SAMPLE;
    size_t len = sizeof SAMPLE - 1;
    unsigned char *owned = NULL;
    const char *name = "sample";

    if (argc > 2) {
        fprintf(stderr, "usage: %s [FILE|-]\n", argv[0]);
        return 2;
    }
    if (argc == 2) {
        FILE *in = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "rb");
        if (!in) { perror(argv[1]); return 1; }
        owned = read_all(in, &len);
        if (in != stdin) fclose(in);
        if (!owned) { fprintf(stderr, "%s: read failed\n", argv[1]); return 1; }
        data = owned;
        name = argv[1];
    }

    uLongf packed_len = compressBound(len);
    unsigned char *packed = malloc(packed_len ? packed_len : 1);
    unsigned char *back = malloc(len ? len : 1);
    if (!packed || !back) { fprintf(stderr, "out of memory\n"); return 1; }
    if (compress2(packed, &packed_len, data, len, Z_BEST_COMPRESSION) != Z_OK) {
        fprintf(stderr, "compress failed\n");
        return 1;
    }
    uLongf back_len = len;
    if (uncompress(back, &back_len, packed, packed_len) != Z_OK || back_len != len ||
        memcmp(back, data, len) != 0) {
        fprintf(stderr, "round trip failed\n");
        return 1;
    }
    unsigned long crc = crc32(crc32(0L, Z_NULL, 0), data, (uInt)len);
    printf("zcheck (zlib %s): %s: %zu -> %lu bytes (%.1fx), crc32 %08lx, round trip ok\n",
           zlibVersion(), name, len, (unsigned long)packed_len,
           packed_len ? (double)len / (double)packed_len : 0.0, crc);
    free(packed);
    free(back);
    free(owned);
    return 0;
}
