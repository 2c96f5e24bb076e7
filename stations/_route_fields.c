/* The variable fields of a place's route links (stations/navigation.py), in one C call: its name percent-encoded as
 * urllib.parse.quote(name, safe="") writes it, and its position in GCJ-02, BD-09 and WGS84 as the links write
 * degrees ("%.6f" without trailing zeros, nor a trailing point).
 *
 * The shifts are geo/crs.py's point_to_gcj02_bd09: the same formulas, operations and order, the same libm functions,
 * no contraction into fused multiply-adds (-ffp-contract=off), so the same doubles — but for hypot, which Python's
 * math module computes with an algorithm of its own (both within an ulp of the true value, as geo/crs.py's numpy and
 * math paths are). A rider's answer made ten of these in Python at ~15 us each when its stations were not kept
 * (a national registry's usual case); here each is ~1 us.
 *
 * Only Python's C API; no numpy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const double PI = 3.141592653589793;      /* math.pi == np.pi */
static const double A = 6378245.0;               /* geo/crs.py _A: Krasovsky 1940 semi-major axis */
static const double EE = 0.00669342162296594323; /* geo/crs.py _EE: its first eccentricity squared */

static int inside(double lon, double lat) {
    return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
}

/* geo/crs.py _gcj02_offset, one point */
static void gcj02_offset(double lon, double lat, double *d_lon_out, double *d_lat_out) {
    double x = lon - 105.0, y = lat - 35.0;
    double wave = (20.0 * sin(6.0 * x * PI) + 20.0 * sin(2.0 * x * PI)) * 2.0 / 3.0;
    double d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x)) + wave;
    d_lat += (20.0 * sin(y * PI) + 40.0 * sin(y / 3.0 * PI)) * 2.0 / 3.0;
    d_lat += (160.0 * sin(y / 12.0 * PI) + 320.0 * sin(y * PI / 30.0)) * 2.0 / 3.0;
    double d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x)) + wave;
    d_lon += (20.0 * sin(x * PI) + 40.0 * sin(x / 3.0 * PI)) * 2.0 / 3.0;
    d_lon += (150.0 * sin(x / 12.0 * PI) + 300.0 * sin(x / 30.0 * PI)) * 2.0 / 3.0;
    double rad_lat = lat / 180.0 * PI;
    double magic = 1.0 - EE * pow(sin(rad_lat), 2.0);
    double sqrt_magic = sqrt(magic);
    *d_lat_out = (d_lat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    *d_lon_out = (d_lon * 180.0) / (A / sqrt_magic * cos(rad_lat) * PI);
}

/* geo/crs.py point_to_gcj02_bd09 */
static void gcj02_bd09(double lon, double lat, double out[4]) {
    if (!inside(lon, lat)) {
        out[0] = out[2] = lon;
        out[1] = out[3] = lat;
        return;
    }
    double d_lon, d_lat;
    gcj02_offset(lon, lat, &d_lon, &d_lat);
    double g_lon = lon + d_lon, g_lat = lat + d_lat;
    out[0] = g_lon;
    out[1] = g_lat;
    if (!inside(g_lon, g_lat)) {
        out[2] = g_lon;
        out[3] = g_lat;
        return;
    }
    double x_pi = PI * 3000.0 / 180.0;
    double z = hypot(g_lon, g_lat) + 0.00002 * sin(g_lat * x_pi);
    double theta = atan2(g_lat, g_lon) + 0.000003 * cos(g_lon * x_pi);
    out[2] = z * cos(theta) + 0.0065;
    out[3] = z * sin(theta) + 0.006;
}

/* f"{value:.6f}".rstrip("0").rstrip("."), as a new str (NULL for a value that is not finite) */
static PyObject *degrees(double value) {
    char text[400]; /* %.6f of the largest double: 309 digits, the point, 6 decimals, a sign */
    if (!isfinite(value)) {
        PyErr_SetString(PyExc_ValueError, "a coordinate must be finite");
        return NULL;
    }
    int n = snprintf(text, sizeof text, "%.6f", value);
    if (n < 0 || n >= (int)sizeof text) {
        PyErr_SetString(PyExc_ValueError, "a coordinate out of range");
        return NULL;
    }
    while (n > 0 && text[n - 1] == '0') n--;
    if (n > 0 && text[n - 1] == '.') n--;
    return PyUnicode_FromStringAndSize(text, n);
}

/* urllib.parse.quote(name, safe=""): UTF-8, each byte but ASCII letters, digits and "_.-~" as %XX (upper case) */
static PyObject *quoted(PyObject *name) {
    static const char hex[] = "0123456789ABCDEF";
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(name, &size); /* a lone surrogate: UnicodeEncodeError, as quote */
    if (!utf8) return NULL;
    PyObject *out = PyUnicode_New(3 * size, 127);
    if (!out) return NULL;
    Py_UCS1 *text = PyUnicode_1BYTE_DATA(out);
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)utf8[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
            c == '-' || c == '~') {
            text[n++] = c;
        } else {
            text[n++] = '%';
            text[n++] = hex[c >> 4];
            text[n++] = hex[c & 15];
        }
    }
    if (n == 3 * size) return out;
    PyObject *exact = PyUnicode_Substring(out, 0, n);
    Py_DECREF(out);
    return exact;
}

PyDoc_STRVAR(route_fields_doc,
             "route_fields(name, lon, lat, /)\n--\n\n"
             "(label, gcj_lon, gcj_lat, bd_lon, bd_lat, lon, lat): ``name`` as ``quote(name, safe=\"\")`` writes it "
             "and the WGS84 (lon, lat) in GCJ-02, BD-09 and WGS84, each as ``f\"{v:.6f}\"`` without trailing zeros.");

static PyObject *route_fields(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "route_fields takes a name, a longitude and a latitude");
        return NULL;
    }
    if (!PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "the name must be a str");
        return NULL;
    }
    double lon = PyFloat_AsDouble(args[1]);
    if (lon == -1.0 && PyErr_Occurred()) return NULL;
    double lat = PyFloat_AsDouble(args[2]);
    if (lat == -1.0 && PyErr_Occurred()) return NULL;
    double shifted[4];
    gcj02_bd09(lon, lat, shifted);
    PyObject *fields = PyTuple_New(7);
    if (!fields) return NULL;
    PyObject *item = quoted(args[0]);
    if (!item) goto fail;
    PyTuple_SET_ITEM(fields, 0, item);
    const double values[6] = {shifted[0], shifted[1], shifted[2], shifted[3], lon, lat};
    for (int i = 0; i < 6; i++) {
        item = degrees(values[i]);
        if (!item) goto fail;
        PyTuple_SET_ITEM(fields, i + 1, item);
    }
    return fields;
fail:
    Py_DECREF(fields);
    return NULL;
}

static PyMethodDef module_methods[] = {
    {"route_fields", (PyCFunction)(void (*)(void))route_fields, METH_FASTCALL, route_fields_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef route_fields_module = {
    PyModuleDef_HEAD_INIT, "stations._route_fields",
    "The variable fields of a place's route links in one call (stations/navigation.py).", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__route_fields(void) { return PyModule_Create(&route_fields_module); }
