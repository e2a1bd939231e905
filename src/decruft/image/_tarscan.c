/* decruft.image._tarscan: the compiled fast path of the tar header loop of decruft.image.tarstream.

Why hand-written C: listing an uncompressed layer inside a seekable file (a `docker save`
archive, an OCI layout) costs one 512-byte read per header; the pure-Python parser
(`tarstream.iter_headers`) spends 7-11 us per header on slicing, checksumming and int()
conversions, about 40 % of `decruft inspect` on a 1 GB archive.  No library lists tar headers
with seeks at this speed: `tarfile` reads bodies in stream mode and builds a TarInfo (and PAX
dicts) per member in random-access mode; libarchive-c measured 24 us per entry through ctypes.

The Python parser stays the reference: this loop takes only the plain, common headers and hands
everything else back by stopping in front of it:

  * a ustar / v7 / GNU header whose checksum matches (unsigned or signed byte sum, as
    `_checksum_ok`), whose numeric fields are plain octal (leading spaces, digits, then only
    NULs and spaces, and -- for mode/uid/gid/size/mtime -- a NUL or space in the last byte,
    because the Python fast path drops the last byte before int()), and whose typeflag is
    regular ('0', NUL, '7'), hard link, symlink, char, block, directory, fifo or GNU dump
    directory ('D');
  * the name gets the ustar prefix exactly as the Python code applies it (prefix field non-empty
    and magic "ustar\0"), decoded as UTF-8 with surrogateescape (prefix + "/" + name decoded in
    one piece: '/' is ASCII, so this equals decoding the parts separately);
  * header-only types ('1'-'6') have no body (size 0), as HEADER_ONLY in Python.

It stops (returning the entries so far and the window offset of the header it did not take) at
an all-zero block, fewer than 512 bytes left in the window, a short or failed read, typeflags
L/K/x/g/S or any other, base-256 or otherwise unparsable numbers, a bad checksum, or a body that
runs past the window.  The Python loop then parses that header and produces today's exact
results or errors.  The caller must not use it while PAX or GNU long-name state is pending.

Reads never go past the window.  Headers are read and checked in groups of PREFETCH without the
GIL (one release per group, not per read); Python objects are built afterwards with the GIL.
Memory is bounded by max_entries tuples per call.
*/

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define BLOCK 512
#define PREFETCH 64 /* headers read per GIL release */

/* Why a scan stopped (returned to Python as a str; tests use it to check which path ran). */
#define STOP_LIMIT "limit"     /* max_entries reached */
#define STOP_END "end"         /* an all-zero block */
#define STOP_WINDOW "window"   /* fewer than 512 bytes left in the window */
#define STOP_READ "read"       /* pread returned less than a block, or failed */
#define STOP_HANDOFF "handoff" /* a header only the Python parser handles */

typedef struct {
    unsigned char block[BLOCK];
    long long body_offset; /* window offset of the body */
    unsigned long long size, mode, uid, gid, mtime;
} PlainHeader;

/* Plain octal as the Python parser reads it: leading spaces, octal digits, then only NULs and
   spaces (no digits at all reads as 0, like `_num`).  With require_terminator the last byte
   must be a NUL or a space: `iter_headers` parses `field[:-1]` first, so a field filled with
   digits to its end means something else there.  Anything else returns 0 (hand off). */
static int
parse_octal(const unsigned char *field, int width, int require_terminator, unsigned long long *out)
{
    int i = 0;
    unsigned long long value = 0;
    if (require_terminator && field[width - 1] != 0 && field[width - 1] != ' ')
        return 0;
    while (i < width && field[i] == ' ')
        i++;
    while (i < width && field[i] >= '0' && field[i] <= '7')
        value = value * 8 + (unsigned long long)(field[i++] - '0'); /* <= 8 digits: no overflow */
    while (i < width && (field[i] == 0 || field[i] == ' '))
        i++;
    if (i != width)
        return 0;
    *out = value;
    return 1;
}

static int
checksum_ok(const unsigned char *block)
{
    unsigned long long stored;
    long unsigned_sum = 0, signed_sum = 0;
    int i;
    if (!parse_octal(block + 148, 8, 0, &stored))
        return 0;
    for (i = 0; i < BLOCK; i++) {
        unsigned_sum += block[i];
        signed_sum += (signed char)block[i];
    }
    for (i = 148; i < 156; i++) { /* the checksum field counts as eight spaces */
        unsigned_sum -= block[i];
        signed_sum -= (signed char)block[i];
    }
    unsigned_sum += 8 * ' ';
    signed_sum += 8 * ' ';
    return (long long)stored == unsigned_sum || (long long)stored == signed_sum;
}

static int
is_all_zero(const unsigned char *block)
{
    int i;
    for (i = 0; i < BLOCK; i++)
        if (block[i])
            return 0;
    return 1;
}

/* Checks the header in h->block, read at window offset pos.  Returns NULL and fills h when
   the compiled loop takes it, else the stop reason. */
static const char *
check_plain(PlainHeader *h, long long pos, long long length)
{
    const unsigned char *b = h->block;
    unsigned char typeflag = b[156];
    long long padded;

    if (is_all_zero(b))
        return STOP_END;
    switch (typeflag) {
    case '0': case '\0': case '7': case 'D':
    case '1': case '2': case '3': case '4': case '5': case '6':
        break;
    default: /* L, K, x, g, S and anything unknown */
        return STOP_HANDOFF;
    }
    if (!checksum_ok(b)
        || !parse_octal(b + 100, 8, 1, &h->mode)
        || !parse_octal(b + 108, 8, 1, &h->uid)
        || !parse_octal(b + 116, 8, 1, &h->gid)
        || !parse_octal(b + 124, 12, 1, &h->size)
        || !parse_octal(b + 136, 12, 1, &h->mtime))
        return STOP_HANDOFF;
    if (typeflag >= '1' && typeflag <= '6')
        h->size = 0; /* header-only types carry no body, as Go's archive/tar */
    h->body_offset = pos + BLOCK;
    padded = (long long)((h->size + BLOCK - 1) / BLOCK * BLOCK); /* size < 8**11: no overflow */
    if (h->body_offset + padded > length)
        return STOP_HANDOFF; /* Python yields the header, then raises "a body runs past the end" */
    return NULL;
}

static PyObject *
decode_name(const unsigned char *b)
{
    char joined[155 + 1 + 100];
    size_t name_len = strnlen((const char *)b, 100);
    size_t prefix_len;
    if (b[345] == 0 || memcmp(b + 257, "ustar\0", 6) != 0)
        return PyUnicode_DecodeUTF8((const char *)b, (Py_ssize_t)name_len, "surrogateescape");
    prefix_len = strnlen((const char *)b + 345, 155);
    memcpy(joined, b + 345, prefix_len);
    joined[prefix_len] = '/';
    memcpy(joined + prefix_len + 1, b, name_len);
    return PyUnicode_DecodeUTF8(joined, (Py_ssize_t)(prefix_len + 1 + name_len), "surrogateescape");
}

/* (name, linkname, typeflag, size, mode, uid, gid, mtime, offset, realsize): TarHeader's
   fields in order, without `sparse` (always False here). */
static PyObject *
header_tuple(const PlainHeader *h)
{
    const unsigned char *b = h->block;
    PyObject *tuple = PyTuple_New(10);
    PyObject *item;
    int i = 0;
    if (tuple == NULL)
        return NULL;
#define PUT(expr)                    \
    do {                             \
        item = (expr);               \
        if (item == NULL)            \
            goto fail;               \
        PyTuple_SET_ITEM(tuple, i++, item); \
    } while (0)
    PUT(decode_name(b));
    PUT(PyUnicode_DecodeUTF8((const char *)b + 157, (Py_ssize_t)(b[157] ? strnlen((const char *)b + 157, 100) : 0),
                             "surrogateescape"));
    PUT(PyUnicode_FromOrdinal(b[156]));
    PUT(PyLong_FromUnsignedLongLong(h->size));
    PUT(PyLong_FromUnsignedLongLong(h->mode & 07777));
    PUT(PyLong_FromUnsignedLongLong(h->uid));
    PUT(PyLong_FromUnsignedLongLong(h->gid));
    PUT(PyLong_FromUnsignedLongLong(h->mtime));
    PUT(PyLong_FromLongLong(h->body_offset));
    PUT(PyLong_FromUnsignedLongLong(h->size));
#undef PUT
    return tuple;
fail:
    Py_DECREF(tuple);
    return NULL;
}

PyDoc_STRVAR(scan_doc,
"scan(fd, start, length, pos, max_entries) -> (headers, pos, reason)\n\n"
"Read plain tar headers of the window [start, start+length) of fd from window offset pos,\n"
"skipping bodies.  headers: up to max_entries tuples (name, linkname, typeflag, size, mode,\n"
"uid, gid, mtime, offset, realsize); pos: the window offset of the first header not taken;\n"
"reason: 'limit', 'end' (zero block), 'window' (< 512 bytes left), 'read' (short read) or\n"
"'handoff' (a header the Python parser must read).");

static PyObject *
scan(PyObject *module, PyObject *args)
{
    int fd;
    long long start, length, pos;
    Py_ssize_t max_entries, count = 0;
    const char *reason = NULL;
    PlainHeader *headers;
    PyObject *list, *result;

    if (!PyArg_ParseTuple(args, "iLLLn:scan", &fd, &start, &length, &pos, &max_entries))
        return NULL;
    if (start < 0 || length < 0 || pos < 0 || pos > length || max_entries < 1 || start > LLONG_MAX - length) {
        PyErr_SetString(PyExc_ValueError, "scan: bad window, position or max_entries");
        return NULL;
    }
    headers = PyMem_Malloc(sizeof(PlainHeader) * PREFETCH);
    if (headers == NULL)
        return PyErr_NoMemory();
    list = PyList_New(0);
    if (list == NULL)
        goto error;
    while (reason == NULL && count < max_entries) {
        int taken = 0, j;
        Py_BEGIN_ALLOW_THREADS
        while (taken < PREFETCH && count + taken < max_entries) {
            PlainHeader *h = &headers[taken];
            if (length - pos < BLOCK) {
                reason = STOP_WINDOW;
                break;
            }
            if (pread(fd, h->block, BLOCK, (off_t)(start + pos)) != BLOCK) {
                reason = STOP_READ; /* Python reads it again and reports the error */
                break;
            }
            if ((reason = check_plain(h, pos, length)) != NULL)
                break;
            pos = h->body_offset + (long long)((h->size + BLOCK - 1) / BLOCK * BLOCK);
            taken++;
        }
        Py_END_ALLOW_THREADS
        for (j = 0; j < taken; j++) {
            PyObject *tuple = header_tuple(&headers[j]);
            if (tuple == NULL || PyList_Append(list, tuple) < 0) {
                Py_XDECREF(tuple);
                goto error;
            }
            Py_DECREF(tuple);
        }
        count += taken;
    }
    PyMem_Free(headers);
    result = Py_BuildValue("(NLs)", list, pos, reason ? reason : STOP_LIMIT);
    return result;
error:
    PyMem_Free(headers);
    Py_XDECREF(list);
    return NULL;
}

static PyMethodDef tarscan_methods[] = {
    {"scan", scan, METH_VARARGS, scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef tarscan_module = {
    PyModuleDef_HEAD_INIT,
    "decruft.image._tarscan",
    "Compiled fast path of the tar header loop (see the C source and decruft.image.tarstream).",
    -1,
    tarscan_methods,
};

PyMODINIT_FUNC
PyInit__tarscan(void)
{
    return PyModule_Create(&tarscan_module);
}
