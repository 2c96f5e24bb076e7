/* A k-d tree on 3-D unit vectors for exact great-circle k-nearest queries, one query at a time or in batches.
 *
 * geo/index.py's NearestIndex holds one. Chord order on the unit sphere equals great-circle order, so the k nearest
 * by squared chord are the k nearest on the Earth; each distance goes back as metres, scale * asin(chord / 2) with
 * scale = 2R. A single query is one C call with no allocation for k <= STACK_K: the point's unit vector, the
 * search and the metres are all made here (pykdtree's call alone took ~10 us at 1M points; bench/nearest.py).
 *
 * The tree: points copied into tree order (each leaf's points contiguous), split at the median of the widest
 * side of each node's tight box, leaves of at most `leafsize` points. A query walks near side first and visits a
 * far side only when the box's distance (kept incrementally, Arya & Mount) is within the current k-th best.
 * Results are the k smallest (squared chord, tree position) pairs, so ties come out in one fixed order.
 *
 * Only Python's C API: arrays come and go through the buffer protocol, so building needs no numpy headers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STACK_K 64
/* Added to the squared box distance a far side is visited within: that distance is kept incrementally (one subtraction
 * and one addition a level), so it carries rounding of ~1e-14 at most for unit vectors (squares <= 4, ~20 levels); a
 * side is pruned only when it is certainly farther. Points themselves are compared exactly. */
#define PRUNE_SLACK 1e-12
#define INTP "nlq" /* how numpy's intp may name itself on a 64-bit platform */

typedef struct {
    double cut;    /* split value on `dim`: left holds coordinates <= cut, right >= cut */
    int32_t dim;   /* -1 for a leaf */
    int32_t left;  /* child nodes (internal) */
    int32_t right;
    int32_t start; /* points [start, end) in tree order (leaf) */
    int32_t end;
} Node;

typedef struct {
    PyObject_HEAD
    Py_ssize_t n;
    double *points;        /* n * 3, tree order */
    Py_ssize_t *position;  /* the caller's position of each point in tree order */
    Node *nodes;
    Py_ssize_t node_count;
    double lo[3], hi[3];   /* the root's box */
    double scale;          /* metres = scale * asin(chord / 2) */
} SphereTree;

typedef struct {
    double d2;
    Py_ssize_t at; /* tree position */
} Hit;

/* ---------- building ---------- */

static inline double coord(const double *points, Py_ssize_t i, int dim) { return points[3 * i + dim]; }

/* Reorder perm[lo, hi) so that perm[nth] holds the point of rank nth along dim (Hoare's selection). */
static void select_nth(Py_ssize_t *perm, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t nth, int dim, const double *points) {
    hi -= 1;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        /* median of three as pivot */
        double a = coord(points, perm[lo], dim), b = coord(points, perm[mid], dim), c = coord(points, perm[hi], dim);
        double pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        Py_ssize_t i = lo, j = hi;
        while (i <= j) {
            while (coord(points, perm[i], dim) < pivot) i++;
            while (coord(points, perm[j], dim) > pivot) j--;
            if (i <= j) {
                Py_ssize_t t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
                i++;
                j--;
            }
        }
        if (nth <= j)
            hi = j;
        else if (nth >= i)
            lo = i;
        else
            return;
    }
}

static int32_t build_node(SphereTree *tree, Py_ssize_t *perm, const double *points, Py_ssize_t start, Py_ssize_t end,
                          Py_ssize_t leafsize) {
    int32_t me = (int32_t)tree->node_count++;
    Node *node = &tree->nodes[me];
    node->start = (int32_t)start;
    node->end = (int32_t)end;
    node->dim = -1;
    node->left = node->right = -1;
    node->cut = 0.0;
    if (end - start <= leafsize) return me;
    double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (Py_ssize_t i = start; i < end; i++) {
        for (int d = 0; d < 3; d++) {
            double v = coord(points, perm[i], d);
            if (v < lo[d]) lo[d] = v;
            if (v > hi[d]) hi[d] = v;
        }
    }
    int dim = 0;
    for (int d = 1; d < 3; d++)
        if (hi[d] - lo[d] > hi[dim] - lo[dim]) dim = d;
    if (!(hi[dim] > lo[dim])) return me; /* every point the same: one leaf, however many */
    Py_ssize_t mid = start + (end - start) / 2;
    select_nth(perm, start, end, mid, dim, points);
    double cut = coord(points, perm[mid], dim);
    int32_t left = build_node(tree, perm, points, start, mid, leafsize);
    int32_t right = build_node(tree, perm, points, mid, end, leafsize);
    node = &tree->nodes[me]; /* the array does not move (sized up front), but be plain about it */
    node->dim = dim;
    node->cut = cut;
    node->left = left;
    node->right = right;
    return me;
}

/* ---------- searching ---------- */

typedef struct {
    const SphereTree *tree;
    double q[3];
    Hit *heap; /* a max-heap on (d2, at) of at most k hits */
    Py_ssize_t k;
    Py_ssize_t count;
    double bound2; /* squared chord beyond which nothing is wanted */
} Search;

static inline int hit_after(Hit a, Hit b) { return a.d2 > b.d2 || (a.d2 == b.d2 && a.at > b.at); }

/* Put `hit` at the root of the max-heap heap[0, n) and sift it down to its place. */
static void sift_down(Hit *heap, Py_ssize_t n, Hit hit) {
    Py_ssize_t i = 0;
    for (;;) {
        Py_ssize_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && hit_after(heap[child + 1], heap[child])) child++;
        if (!hit_after(heap[child], hit)) break;
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = hit;
}

/* Keep `hit`: added while the heap has room, else in place of the worst (which the caller checked it beats). */
static void keep(Search *s, Hit hit) {
    Hit *heap = s->heap;
    if (s->count == s->k) {
        sift_down(heap, s->count, hit);
        return;
    }
    Py_ssize_t i = s->count++;
    while (i > 0) {
        Py_ssize_t parent = (i - 1) / 2;
        if (!hit_after(hit, heap[parent])) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = hit;
}

/* The squared chord a point must beat (or tie with a smaller position, when the heap is full) to be kept. */
static inline double limit2(const Search *s) { return s->count < s->k ? s->bound2 : s->heap[0].d2; }

static void search_node(Search *s, int32_t at, double rd, double off[3]) {
    const Node *node = &s->tree->nodes[at];
    if (node->dim < 0) {
        const double *p = s->tree->points + 3 * (Py_ssize_t)node->start;
        for (Py_ssize_t i = node->start; i < node->end; i++, p += 3) {
            double dx = p[0] - s->q[0], dy = p[1] - s->q[1], dz = p[2] - s->q[2];
            double d2 = dx * dx + dy * dy + dz * dz;
            if (s->count < s->k ? d2 <= s->bound2 : hit_after(s->heap[0], (Hit){d2, i})) keep(s, (Hit){d2, i});
        }
        return;
    }
    int dim = node->dim;
    double diff = s->q[dim] - node->cut;
    int32_t near = diff <= 0 ? node->left : node->right, far = diff <= 0 ? node->right : node->left;
    search_node(s, near, rd, off);
    double old = off[dim];
    double far_rd = rd - old * old + diff * diff;
    if (far_rd <= limit2(s) + PRUNE_SLACK) {
        off[dim] = diff;
        search_node(s, far, far_rd, off);
        off[dim] = old;
    }
}

/* The k nearest to unit vector q within the bound, written sorted to index/metres; returns how many. */
static Py_ssize_t search(const SphereTree *tree, const double q[3], Py_ssize_t k, double bound, Hit *heap,
                         Py_ssize_t *index, double *metres) {
    Search s = {tree, {q[0], q[1], q[2]}, heap, k, 0, bound * bound};
    if (!(bound >= 0)) s.bound2 = -1.0; /* NaN bound: nothing */
    if (isinf(bound)) s.bound2 = INFINITY;
    double off[3], rd = 0.0;
    for (int d = 0; d < 3; d++) {
        off[d] = q[d] < tree->lo[d] ? q[d] - tree->lo[d] : (q[d] > tree->hi[d] ? q[d] - tree->hi[d] : 0.0);
        rd += off[d] * off[d];
    }
    if (tree->n == 0 || k <= 0 || !(rd <= s.bound2 + PRUNE_SLACK)) return 0;
    search_node(&s, 0, rd, off);
    Py_ssize_t found = s.count;
    /* take the worst off the heap into the last place not yet written, until none is left: nearest first */
    for (Py_ssize_t last = found - 1; last >= 0; last--) {
        Hit worst = heap[0];
        if (last) sift_down(heap, last, heap[last]);
        double chord = sqrt(worst.d2);
        index[last] = tree->position[worst.at];
        metres[last] = tree->scale * asin((chord < 2.0 ? chord : 2.0) * 0.5);
    }
    return found;
}

/* ---------- the Python type ---------- */

/* A float64 array of shape (n, 3), C-contiguous, read through the buffer protocol. */
static int vectors_of(PyObject *obj, Py_buffer *view, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (view->ndim != 2 || view->shape[1] != 3 || view->itemsize != 8 || strcmp(view->format, "d") != 0) {
        PyErr_Format(PyExc_ValueError, "%s: a C-contiguous float64 array of shape (n, 3)", what);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* A writable C-contiguous array of at least `need` items of the type `formats` names (struct-module letters). */
static int writable(PyObject *obj, Py_buffer *view, const char *formats, Py_ssize_t need, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) < 0) return -1;
    if (view->itemsize != 8 || strlen(view->format) != 1 || !strchr(formats, view->format[0]) ||
        view->len < need * 8) {
        PyErr_Format(PyExc_ValueError, "%s: need %zd writable items of type '%s'", what, need, formats);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* The answer's two arrays, both or neither: `index` (intp) and `metres` (float64), each of at least `need` items. */
static int outputs(PyObject *index, PyObject *metres, Py_ssize_t need, Py_buffer *index_view, Py_buffer *metres_view) {
    if (writable(index, index_view, INTP, need, "index") < 0) return -1;
    if (writable(metres, metres_view, "d", need, "metres") < 0) {
        PyBuffer_Release(index_view);
        return -1;
    }
    return 0;
}

static int SphereTree_init(SphereTree *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"vectors", "leafsize", "scale", NULL};
    PyObject *vectors_obj;
    Py_ssize_t leafsize = 16;
    double scale = 2.0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|nd", keywords, &vectors_obj, &leafsize, &scale)) return -1;
    if (self->points) {
        PyErr_SetString(PyExc_TypeError, "SphereTree is built once");
        return -1;
    }
    if (leafsize < 1) {
        PyErr_SetString(PyExc_ValueError, "leafsize must be at least 1");
        return -1;
    }
    Py_buffer view;
    if (vectors_of(vectors_obj, &view, "vectors") < 0) return -1;
    Py_ssize_t n = view.shape[0];
    if (n >= INT32_MAX / 2) {
        PyErr_SetString(PyExc_ValueError, "vectors: too many points");
        PyBuffer_Release(&view);
        return -1;
    }
    const double *given = (const double *)view.buf;
    Py_ssize_t *perm = PyMem_RawMalloc(sizeof(Py_ssize_t) * (n ? n : 1));
    self->points = PyMem_RawMalloc(sizeof(double) * 3 * (n ? n : 1));
    self->position = PyMem_RawMalloc(sizeof(Py_ssize_t) * (n ? n : 1));
    /* a tree of median splits down to leaves of <= leafsize points has fewer than 2n / leafsize + 2 nodes... and
     * never more than 2n + 1, which is what is reserved when leafsize is 1 */
    Py_ssize_t most_nodes = 2 * (n / leafsize + 1) * 2 + 1;
    if (most_nodes > 2 * n + 1) most_nodes = 2 * n + 1;
    self->nodes = PyMem_RawMalloc(sizeof(Node) * most_nodes);
    if (!perm || !self->points || !self->position || !self->nodes) {
        PyMem_RawFree(perm);
        PyBuffer_Release(&view);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) perm[i] = i;
    self->n = n;
    self->scale = scale;
    self->node_count = 0;
    Py_BEGIN_ALLOW_THREADS;
    build_node(self, perm, given, 0, n, leafsize);
    for (int d = 0; d < 3; d++) {
        self->lo[d] = INFINITY;
        self->hi[d] = -INFINITY;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        self->position[i] = perm[i];
        for (int d = 0; d < 3; d++) {
            double v = given[3 * perm[i] + d];
            self->points[3 * i + d] = v;
            if (v < self->lo[d]) self->lo[d] = v;
            if (v > self->hi[d]) self->hi[d] = v;
        }
    }
    Py_END_ALLOW_THREADS;
    PyMem_RawFree(perm);
    PyBuffer_Release(&view);
    return 0;
}

static void SphereTree_dealloc(SphereTree *self) {
    PyMem_RawFree(self->points);
    PyMem_RawFree(self->position);
    PyMem_RawFree(self->nodes);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Hit *heap_for(Py_ssize_t k, Hit *on_stack) {
    if (k <= STACK_K) return on_stack;
    Hit *heap = PyMem_RawMalloc(sizeof(Hit) * k);
    if (!heap) PyErr_NoMemory();
    return heap;
}

PyDoc_STRVAR(nearest_doc,
             "nearest(lon, lat, k, bound, index, metres) -> int\n\n"
             "The k nearest points to (lon, lat) in degrees whose chord is at most `bound`, nearest first: their\n"
             "positions written to `index` (intp) and great-circle metres to `metres` (float64); returns how many.");

static PyObject *SphereTree_nearest(SphereTree *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "nearest(lon, lat, k, bound, index, metres)");
        return NULL;
    }
    double lon = PyFloat_AsDouble(args[0]), lat = PyFloat_AsDouble(args[1]);
    Py_ssize_t k = PyNumber_AsSsize_t(args[2], PyExc_OverflowError);
    double bound = PyFloat_AsDouble(args[3]);
    if (PyErr_Occurred()) return NULL;
    if (k < 0) k = 0;
    if (k > self->n) k = self->n;
    Py_buffer index_view, metres_view;
    if (outputs(args[4], args[5], k, &index_view, &metres_view) < 0) return NULL;
    double lon_r = lon * (M_PI / 180.0), lat_r = lat * (M_PI / 180.0), cos_lat = cos(lat_r);
    double q[3] = {cos_lat * cos(lon_r), cos_lat * sin(lon_r), sin(lat_r)};
    Hit on_stack[STACK_K];
    Hit *heap = heap_for(k, on_stack);
    Py_ssize_t found = -1;
    if (heap) {
        found = search(self, q, k, bound, heap, (Py_ssize_t *)index_view.buf, (double *)metres_view.buf);
        if (heap != on_stack) PyMem_RawFree(heap);
    }
    PyBuffer_Release(&index_view);
    PyBuffer_Release(&metres_view);
    return found < 0 ? NULL : PyLong_FromSsize_t(found);
}

PyDoc_STRVAR(nearest_many_doc,
             "nearest_many(vectors, k, index, metres) -> None\n\n"
             "The k nearest to each unit vector of `vectors` ((m, 3) float64): row i of `index` ((m, k) intp) and\n"
             "`metres` ((m, k) float64) nearest first, padded with -1 and inf past the points there are.");

static PyObject *SphereTree_nearest_many(SphereTree *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "nearest_many(vectors, k, index, metres)");
        return NULL;
    }
    Py_ssize_t k = PyNumber_AsSsize_t(args[1], PyExc_OverflowError);
    if (k == -1 && PyErr_Occurred()) return NULL;
    if (k < 1) {
        PyErr_SetString(PyExc_ValueError, "k must be at least 1");
        return NULL;
    }
    Py_buffer vectors;
    if (vectors_of(args[0], &vectors, "vectors") < 0) return NULL;
    Py_ssize_t m = vectors.shape[0];
    Py_buffer index_view, metres_view;
    if (outputs(args[2], args[3], m * k, &index_view, &metres_view) < 0) {
        PyBuffer_Release(&vectors);
        return NULL;
    }
    Hit on_stack[STACK_K];
    Hit *heap = heap_for(k, on_stack);
    if (heap) {
        const double *q = (const double *)vectors.buf;
        Py_ssize_t *index = (Py_ssize_t *)index_view.buf;
        double *metres = (double *)metres_view.buf;
        Py_BEGIN_ALLOW_THREADS;
        for (Py_ssize_t row = 0; row < m; row++) {
            Py_ssize_t found = search(self, q + 3 * row, k, INFINITY, heap, index + row * k, metres + row * k);
            for (Py_ssize_t j = found; j < k; j++) {
                index[row * k + j] = -1;
                metres[row * k + j] = INFINITY;
            }
        }
        Py_END_ALLOW_THREADS;
        if (heap != on_stack) PyMem_RawFree(heap);
    }
    PyBuffer_Release(&vectors);
    PyBuffer_Release(&index_view);
    PyBuffer_Release(&metres_view);
    if (!heap) return NULL;
    Py_RETURN_NONE;
}

static PyObject *SphereTree_len(SphereTree *self, void *Py_UNUSED(closure)) { return PyLong_FromSsize_t(self->n); }

static PyObject *SphereTree_nbytes(SphereTree *self, void *Py_UNUSED(closure)) {
    return PyLong_FromSsize_t(self->n * (3 * (Py_ssize_t)sizeof(double) + (Py_ssize_t)sizeof(Py_ssize_t)) +
                              self->node_count * (Py_ssize_t)sizeof(Node));
}

static PyMethodDef SphereTree_methods[] = {
    {"nearest", (PyCFunction)(void (*)(void))SphereTree_nearest, METH_FASTCALL, nearest_doc},
    {"nearest_many", (PyCFunction)(void (*)(void))SphereTree_nearest_many, METH_FASTCALL, nearest_many_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef SphereTree_getset[] = {
    {"size", (getter)SphereTree_len, NULL, "how many points", NULL},
    {"nbytes", (getter)SphereTree_nbytes, NULL, "bytes held by the points, their positions and the nodes", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject SphereTreeType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "geo._sphere_tree.SphereTree",
    .tp_doc = PyDoc_STR("SphereTree(vectors, leafsize=16, scale=2.0): exact k-nearest over unit vectors"),
    .tp_basicsize = sizeof(SphereTree),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)SphereTree_init,
    .tp_dealloc = (destructor)SphereTree_dealloc,
    .tp_methods = SphereTree_methods,
    .tp_getset = SphereTree_getset,
};

static struct PyModuleDef sphere_tree_module = {
    PyModuleDef_HEAD_INIT, "geo._sphere_tree", "Exact great-circle k-nearest search on unit vectors (geo/index.py).",
    -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__sphere_tree(void) {
    if (PyType_Ready(&SphereTreeType) < 0) return NULL;
    PyObject *module = PyModule_Create(&sphere_tree_module);
    if (!module) return NULL;
    Py_INCREF(&SphereTreeType);
    if (PyModule_AddObject(module, "SphereTree", (PyObject *)&SphereTreeType) < 0) {
        Py_DECREF(&SphereTreeType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
