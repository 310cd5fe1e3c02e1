/* SPDX-License-Identifier: MIT */
/*
 * Struct layouts of the interpreter, by type and member name.
 *
 * Versions differ here in data, not in code: each entry names a struct (a
 * typedef or tag; alternatives separated by '|') and a member path (dots for
 * nested members; alternatives separated by '|', first found wins).  The
 * loader fills in what the interpreter's DWARF has and marks the rest absent,
 * so the object model probes "does PyGC_Head have _gc_next?" instead of
 * asking for a version number.
 */
#ifndef PCC_LAYOUT_H
#define PCC_LAYOUT_H

#include "../debuginfo/debuginfo.h"

/* X(id, struct names, member path).  An empty member means sizeof. */
#define PCC_LAYOUT_FIELDS(X)                                                  \
	X(OBJECT_SIZE, "PyObject", "")                                        \
	X(OB_REFCNT, "PyObject", "ob_refcnt")                                 \
	X(OB_TYPE, "PyObject", "ob_type")                                     \
	X(OB_REFCNT_SPLIT, "PyObject", "ob_refcnt_split")                     \
	X(OB_SIZE, "PyVarObject", "ob_size")                                  \
	/* Py_TRACE_REFS (3.8-3.12 --with-trace-refs, 2.7-3.7 debug builds):  \
	 * the all-objects list before ob_refcnt. */                          \
	X(OB_NEXT, "PyObject", "_ob_next")                                    \
	X(OB_PREV, "PyObject", "_ob_prev")                                    \
	X(GC_HEAD_SIZE, "PyGC_Head", "")                                      \
	X(GC_NEXT, "PyGC_Head", "_gc_next|gc.gc_next")                        \
	X(GC_PREV, "PyGC_Head", "_gc_prev|gc.gc_prev")                        \
	X(GC_REFS, "PyGC_Head", "gc.gc_refs")                                 \
	X(TP_NAME, "PyTypeObject", "tp_name")                                 \
	X(TP_BASICSIZE, "PyTypeObject", "tp_basicsize")                       \
	X(TP_ITEMSIZE, "PyTypeObject", "tp_itemsize")                         \
	X(TP_FLAGS, "PyTypeObject", "tp_flags")                               \
	X(TP_TRAVERSE, "PyTypeObject", "tp_traverse")                         \
	X(TP_DICTOFFSET, "PyTypeObject", "tp_dictoffset")                     \
	X(TP_WEAKLISTOFFSET, "PyTypeObject", "tp_weaklistoffset")             \
	X(TP_BASE, "PyTypeObject", "tp_base")                                 \
	X(TP_IS_GC, "PyTypeObject", "tp_is_gc")                               \
	X(TP_DICT, "PyTypeObject", "tp_dict")                                 \
	X(TP_CACHE, "PyTypeObject", "tp_cache")                               \
	X(TP_MRO, "PyTypeObject", "tp_mro")                                   \
	X(TP_BASES, "PyTypeObject", "tp_bases")                               \
	X(TP_METHODS, "PyTypeObject", "tp_methods")                           \
	X(HT_MODULE, "PyHeapTypeObject", "ht_module")                         \
	X(CFUNC_ML, "PyCFunctionObject", "m_ml")                              \
	X(METHODDEF_FLAGS, "PyMethodDef", "ml_flags")                         \
	X(HEAPTYPE_SIZE, "PyHeapTypeObject", "")                              \
	X(HT_CACHED_KEYS, "PyHeapTypeObject", "ht_cached_keys")               \
	X(HT_NAME, "PyHeapTypeObject", "ht_name")                             \
	X(HT_QUALNAME, "PyHeapTypeObject", "ht_qualname")                     \
	/* where PyHeapTypeObject goes on past a PyTypeObject: its size */    \
	X(HT_AS_ASYNC, "PyHeapTypeObject", "as_async|as_number")              \
	X(MEMBERDEF_SIZE, "PyMemberDef", "")                                  \
	X(MEMBERDEF_NAME, "PyMemberDef", "name")                              \
	X(MEMBERDEF_TYPE, "PyMemberDef", "type")                              \
	X(MEMBERDEF_OFFSET, "PyMemberDef", "offset")                          \
	/* runtime, interpreters, GC state */                                 \
	X(RUNTIME_INTERP_HEAD, "_PyRuntimeState|pyruntimestate",              \
	  "interpreters.head")                                                \
	X(RUNTIME_GC, "_PyRuntimeState|pyruntimestate", "gc")                 \
	X(INTERP_NEXT, "PyInterpreterState|_is", "next")                      \
	X(INTERP_ID, "PyInterpreterState|_is", "id")                          \
	X(INTERP_GC, "PyInterpreterState|_is", "gc")                          \
	X(INTERP_SYSDICT, "PyInterpreterState|_is", "sysdict")                \
	X(INTERP_MODULES, "PyInterpreterState|_is", "imports.modules|modules") \
	X(TSTATE_INTERP, "PyThreadState|_ts", "interp")                       \
	X(GCSTATE_ENABLED, "_gc_runtime_state|GCState", "enabled")            \
	X(GCSTATE_DEBUG, "_gc_runtime_state|GCState", "debug")                \
	X(GCSTATE_GENERATIONS, "_gc_runtime_state|GCState", "generations")    \
	X(GCSTATE_YOUNG, "_gc_runtime_state|GCState", "young")                \
	X(GCSTATE_OLD, "_gc_runtime_state|GCState", "old")                    \
	X(GCSTATE_PERMANENT, "_gc_runtime_state|GCState",                     \
	  "permanent_generation")                                             \
	X(GCSTATE_COLLECTING, "_gc_runtime_state|GCState", "collecting")      \
	X(GCSTATE_GARBAGE, "_gc_runtime_state|GCState", "garbage")            \
	X(GCSTATE_CALLBACKS, "_gc_runtime_state|GCState", "callbacks")        \
	X(GCSTATE_TRASH, "_gc_runtime_state|GCState", "trash_delete_later|trash.delete_later") \
	X(GEN_SIZE, "gc_generation", "")                                      \
	X(GEN_HEAD, "gc_generation", "head")                                  \
	X(GEN_THRESHOLD, "gc_generation", "threshold")                        \
	X(GEN_COUNT, "gc_generation", "count")                                \
	/* containers */                                                      \
	X(LIST_ITEMS, "PyListObject", "ob_item")                              \
	X(LIST_ALLOCATED, "PyListObject", "allocated")                        \
	X(TUPLE_ITEMS, "PyTupleObject", "ob_item")                            \
	X(DICT_USED, "PyDictObject", "ma_used")                               \
	X(DICT_KEYS, "PyDictObject", "ma_keys")                               \
	X(DICT_VALUES, "PyDictObject", "ma_values")                           \
	X(DICT_SMALLTABLE, "PyDictObject", "ma_smalltable")                   \
	X(DICT_MASK, "PyDictObject", "ma_mask")                               \
	X(DICT_TABLE, "PyDictObject", "ma_table")                             \
	X(DK_SIZE, "PyDictKeysObject|_dictkeysobject", "dk_size")             \
	X(DK_LOG2_SIZE, "PyDictKeysObject|_dictkeysobject", "dk_log2_size")   \
	X(DK_LOG2_INDEX_BYTES, "PyDictKeysObject|_dictkeysobject",            \
	  "dk_log2_index_bytes")                                              \
	X(DK_KIND, "PyDictKeysObject|_dictkeysobject", "dk_kind")             \
	X(DK_NENTRIES, "PyDictKeysObject|_dictkeysobject", "dk_nentries")     \
	X(DK_REFCNT, "PyDictKeysObject|_dictkeysobject", "dk_refcnt")         \
	X(DK_USABLE, "PyDictKeysObject|_dictkeysobject", "dk_usable")         \
	X(DK_INDICES, "PyDictKeysObject|_dictkeysobject", "dk_indices")       \
	X(DK_LOOKUP, "PyDictKeysObject|_dictkeysobject", "dk_lookup")         \
	/* entries of a keys object (3.6+) or of a 2.7 dict's table */       \
	X(DKE_SIZE, "PyDictKeyEntry|PyDictEntry", "")                         \
	X(DKE_KEY, "PyDictKeyEntry|PyDictEntry", "me_key")                    \
	X(DKE_VALUE, "PyDictKeyEntry|PyDictEntry", "me_value")                \
	X(DKUE_SIZE, "PyDictUnicodeEntry", "")                                \
	X(DKUE_KEY, "PyDictUnicodeEntry", "me_key")                           \
	X(DKUE_VALUE, "PyDictUnicodeEntry", "me_value")                       \
	X(DV_VALUES, "PyDictValues|_dictvalues", "values")                    \
	X(DV_CAPACITY, "PyDictValues|_dictvalues", "capacity")                \
	X(DV_EMBEDDED, "PyDictValues|_dictvalues", "embedded")                \
	X(DV_VALID, "PyDictValues|_dictvalues", "valid")                      \
	X(SET_MASK, "PySetObject", "mask")                                    \
	X(SET_TABLE, "PySetObject", "table")                                  \
	X(SETENTRY_SIZE, "setentry", "")                                      \
	X(SETENTRY_KEY, "setentry", "key")                                    \
	/* strings and numbers, for display */                                \
	X(ASCII_SIZE, "PyASCIIObject", "")                                    \
	X(ASCII_LENGTH, "PyASCIIObject", "length")                            \
	X(ASCII_STATE, "PyASCIIObject", "state")                              \
	X(COMPACT_SIZE, "PyCompactUnicodeObject", "")                         \
	X(BYTES_SVAL, "PyBytesObject", "ob_sval")                             \
	X(STRING_SVAL, "PyStringObject", "ob_sval")                           \
	/* 2.7 unicode: a pointer to a Py_UNICODE buffer */                   \
	X(UNICODE_LENGTH, "PyUnicodeObject", "length")                        \
	X(UNICODE_STR, "PyUnicodeObject", "str")                              \
	/* functions and friends */                                           \
	X(FUNC_SIZE, "PyFunctionObject", "")                                  \
	X(METHOD_FUNC, "PyMethodObject", "im_func")                           \
	X(METHOD_SELF, "PyMethodObject", "im_self")                           \
	X(METHOD_CLASS, "PyMethodObject", "im_class")                         \
	X(CELL_REF, "PyCellObject", "ob_ref")                                 \
	X(DESCR_TYPE, "PyDescrObject", "d_type")                              \
	X(WRAPPER_DESCR, "wrapperobject", "descr")                            \
	X(WRAPPER_SELF, "wrapperobject", "self")                              \
	X(MAPPINGPROXY_MAPPING, "mappingproxyobject|proxyobject",             \
	  "mapping|dict")                                                     \
	X(MODULE_DICT, "PyModuleObject", "md_dict")                           \
	X(MODULE_DEF, "PyModuleObject", "md_def")                             \
	X(MODULEDEF_TRAVERSE, "PyModuleDef", "m_traverse")                    \
	X(WEAKREF_CALLBACK, "PyWeakReference|_PyWeakReference", "wr_callback") \
	X(TRACEBACK_NEXT, "PyTracebackObject", "tb_next")                     \
	X(TRACEBACK_FRAME, "PyTracebackObject", "tb_frame")                   \
	/* frames, code, generators */                                        \
	X(FRAME_BACK, "PyFrameObject|_frame", "f_back")                       \
	X(FRAME_CODE, "PyFrameObject|_frame", "f_code")                       \
	X(FRAME_FRAME, "PyFrameObject|_frame", "f_frame")                     \
	X(FRAME_LOCALSPLUS, "PyFrameObject|_frame", "f_localsplus")           \
	X(FRAME_VALUESTACK, "PyFrameObject|_frame", "f_valuestack")           \
	X(FRAME_STACKTOP, "PyFrameObject|_frame", "f_stacktop")               \
	X(FRAME_STACKDEPTH, "PyFrameObject|_frame", "f_stackdepth")           \
	X(CODE_NLOCALS, "PyCodeObject", "co_nlocals")                         \
	X(CODE_CELLVARS, "PyCodeObject", "co_cellvars")                       \
	X(CODE_FREEVARS, "PyCodeObject", "co_freevars")                       \
	X(CODE_NLOCALSPLUS, "PyCodeObject", "co_nlocalsplus")                 \
	X(CODE_LOCALSPLUSNAMES, "PyCodeObject", "co_localsplusnames")         \
	X(CODE_VARNAMES, "PyCodeObject", "co_varnames")                       \
	X(CODE_NAME, "PyCodeObject", "co_name")                               \
	X(CODE_QUALNAME, "PyCodeObject", "co_qualname")                       \
	X(IFRAME_FUNC, "_PyInterpreterFrame", "f_funcobj|f_func")             \
	X(IFRAME_CODE, "_PyInterpreterFrame", "f_executable|f_code")          \
	X(IFRAME_FRAME_OBJ, "_PyInterpreterFrame", "frame_obj")               \
	X(IFRAME_LOCALS, "_PyInterpreterFrame", "f_locals")                   \
	X(IFRAME_STACKTOP, "_PyInterpreterFrame", "stacktop")                 \
	X(IFRAME_STACKPOINTER, "_PyInterpreterFrame", "stackpointer")         \
	X(IFRAME_OWNER, "_PyInterpreterFrame", "owner")                       \
	X(IFRAME_LOCALSPLUS, "_PyInterpreterFrame", "localsplus")             \
	X(GEN_FRAME, "PyGenObject", "gi_frame")                               \
	X(GEN_IFRAME, "PyGenObject", "gi_iframe")                             \
	X(GEN_FRAME_STATE, "PyGenObject", "gi_frame_state")                   \
	X(GEN_EXC_STATE, "PyGenObject", "gi_exc_state")                       \
	X(EXC_ITEM_TYPE, "_PyErr_StackItem|_err_stackitem", "exc_type")       \
	X(EXC_ITEM_VALUE, "_PyErr_StackItem|_err_stackitem", "exc_value")     \
	X(EXC_ITEM_TRACEBACK, "_PyErr_StackItem|_err_stackitem",              \
	  "exc_traceback")                                                    \
	X(ASYNCGEN_FINALIZER, "PyAsyncGenObject", "ag_origin_or_finalizer|ag_finalizer") \
	/* collections, functools */                                          \
	X(DEQUE_LEFTBLOCK, "dequeobject", "leftblock")                        \
	X(DEQUE_RIGHTBLOCK, "dequeobject", "rightblock")                      \
	X(DEQUE_LEFTINDEX, "dequeobject", "leftindex")                        \
	X(DEQUE_RIGHTINDEX, "dequeobject", "rightindex")                      \
	X(DEQUE_LEN, "dequeobject", "len|ob_base.ob_size")                    \
	X(BLOCK_DATA, "block|BLOCK", "data")                                  \
	X(BLOCK_RIGHTLINK, "block|BLOCK", "rightlink")                        \
	X(DEFDICT_FACTORY, "defdictobject", "default_factory")                \
	X(ODICT_FIRST, "PyODictObject|_odictobject", "od_first")              \
	X(ODICT_INST_DICT, "PyODictObject|_odictobject", "od_inst_dict")      \
	X(ODICT_FAST_NODES_SIZE, "PyODictObject|_odictobject",                 \
	  "od_fast_nodes_size")                                               \
	X(ODICTNODE_KEY, "_ODictNode|_odictnode", "key")                      \
	X(ODICTNODE_NEXT, "_ODictNode|_odictnode", "next")                    \
	/* io */                                                              \
	X(FILEIO_FD, "fileio", "fd")                                          \
	X(FILEIO_CREATED, "fileio", "created")                                \
	X(FILEIO_DICT, "fileio", "dict")                                      \
	X(BUFFERED_RAW, "buffered", "raw")                                    \
	X(BUFFERED_DICT, "buffered", "dict")                                  \
	X(BUFFERED_BUFFER, "buffered", "buffer")                              \
	X(BUFFERED_BUFFER_SIZE, "buffered", "buffer_size")                    \
	X(TEXTIO_BUFFER, "textio", "buffer")                                  \
	X(TEXTIO_DICT, "textio", "dict")                                      \
	/* 2.7 file objects, and the C library's FILE they hold */            \
	X(FILE_FP, "PyFileObject", "f_fp")                                    \
	X(FILE_NAME, "PyFileObject", "f_name")                                \
	X(FILE_MODE, "PyFileObject", "f_mode")                                \
	X(CFILE_FILENO, "_IO_FILE", "_fileno")

enum pcc_layout_field {
#define X(id, type, member) PCC_L_##id,
	PCC_LAYOUT_FIELDS(X)
#undef X
	PCC_L_COUNT
};

/* What BaseException_traverse visits, in every version (message: 2.7). */
#define PCC_EXCEPTION_HEAD                                                    \
	"dict:__dict__ args notes:__notes__ traceback:__traceback__ "         \
	"context:__context__ cause:__cause__ message"

/* Objects whose members are all visited by their traverse, except those a
 * rule names: their names are listed so that versions may add and drop. */
#define PCC_LAYOUT_MEMBER_LISTS(X)                                            \
	X(FUNC, "PyFunctionObject",                                           \
	  "func_code:__code__ func_globals:__globals__ "                      \
	  "func_builtins:__builtins__ func_name:__name__ "                    \
	  "func_qualname:__qualname__ func_defaults:__defaults__ "            \
	  "func_kwdefaults:__kwdefaults__ func_closure:__closure__ "          \
	  "func_doc:__doc__ func_dict:__dict__ func_module:__module__ "       \
	  "func_annotations:__annotations__ func_annotate:__annotate__ "      \
	  "func_typeparams:__type_params__")                                  \
	X(CLASSMETHOD, "classmethod", "cm_callable:__func__ cm_dict:__dict__") \
	X(STATICMETHOD, "staticmethod",                                       \
	  "sm_callable:__func__ sm_dict:__dict__")                            \
	X(PROPERTY, "propertyobject", "prop_get:fget prop_set:fset "          \
	  "prop_del:fdel prop_doc:__doc__ prop_name:__name__")                \
	X(EXCEPTION, "PyBaseExceptionObject", PCC_EXCEPTION_HEAD)             \
	/* Exceptions with fields of their own: those, then the head */       \
	X(STOPITERATION, "PyStopIterationObject", "value " PCC_EXCEPTION_HEAD) \
	X(SYSTEMEXIT, "PySystemExitObject", "code " PCC_EXCEPTION_HEAD)       \
	X(IMPORTERROR, "PyImportErrorObject",                                 \
	  "msg name path name_from " PCC_EXCEPTION_HEAD)                      \
	X(OSERROR, "PyOSErrorObject|PyEnvironmentErrorObject",                \
	  "myerrno:errno strerror filename filename2 " PCC_EXCEPTION_HEAD)    \
	X(NAMEERROR, "PyNameErrorObject", "name " PCC_EXCEPTION_HEAD)         \
	X(ATTRIBUTEERROR, "PyAttributeErrorObject",                           \
	  "obj name " PCC_EXCEPTION_HEAD)                                     \
	X(SYNTAXERROR, "PySyntaxErrorObject",                                 \
	  "msg filename lineno offset end_lineno end_offset text "            \
	  "print_file_and_line " PCC_EXCEPTION_HEAD)                          \
	X(UNICODEERROR, "PyUnicodeErrorObject",                               \
	  "encoding object reason " PCC_EXCEPTION_HEAD)                       \
	X(EXCEPTIONGROUP, "PyBaseExceptionGroupObject",                       \
	  "msg:message excs:exceptions excs_str " PCC_EXCEPTION_HEAD)         \
	X(GENERICALIAS, "gaobject",                                           \
	  "origin:__origin__ args:__args__ parameters:__parameters__")        \
	X(FRAME_OLD, "PyFrameObject|_frame",                                  \
	  "f_back f_code f_builtins f_globals f_locals f_trace f_exc_type "   \
	  "f_exc_value f_exc_traceback")                                      \
	X(FRAME_NEW, "PyFrameObject|_frame",                                  \
	  "f_back f_trace f_extra_locals f_locals_cache "                     \
	  "f_overwritten_fast_locals")                                        \
	X(GEN, "PyGenObject", "gi_code gi_name gi_qualname")                  \
	X(PARTIAL, "partialobject", "fn:func args kw:keywords dict:__dict__") \
	X(TEXTIO, "textio", "buffer encoding encoder decoder readnl "         \
	  "decoded_chars pending_bytes snapshot errors raw dict")             \
	X(RWPAIR, "rwpair", "reader writer dict")                             \
	X(CFUNC, "PyCFunctionObject", "m_self m_module")                      \
	X(CMETHOD, "PyCMethodObject", "mm_class")                             \
	X(LISTITER, "listiterobject|_PyListIterObject", "it_seq")             \
	X(TUPLEITER, "tupleiterobject|_PyTupleIterObject", "it_seq")          \
	X(DICTITER, "dictiterobject", "di_dict di_result")                    \
	X(SETITER, "setiterobject", "si_set")                                 \
	X(SEQITER, "seqiterobject", "it_seq")                                 \
	X(CALLITER, "calliterobject", "it_callable it_sentinel")              \
	X(ENUMERATE, "enumobject", "en_sit en_result en_longindex")           \
	X(ZIP, "zipobject", "ittuple result")                                 \
	X(MAP, "mapobject", "func iters")                                     \
	X(FILTER, "filterobject", "func it")                                  \
	X(REVERSED, "reversedobject", "seq")                                  \
	X(DICTVIEW, "_PyDictViewObject", "dv_dict")                           \
	X(NAMESPACE, "_PyNamespaceObject", "ns_dict")                         \
	X(ABC_DATA, "_abc_data", "_abc_registry _abc_cache "                  \
	  "_abc_negative_cache")                                              \
	X(TUPLEGETTER, "_tuplegetterobject", "doc")                           \
	/* 2.7 old-style classes and their instances */                       \
	X(CLASSOBJ, "PyClassObject", "cl_bases:__bases__ cl_dict:__dict__ "   \
	  "cl_name:__name__ cl_getattr:__getattr__ cl_setattr:__setattr__ "   \
	  "cl_delattr:__delattr__")                                           \
	X(OLDINSTANCE, "PyInstanceObject", "in_class:__class__ "              \
	  "in_dict:__dict__")

enum pcc_layout_list {
#define X(id, type, members) PCC_LL_##id,
	PCC_LAYOUT_MEMBER_LISTS(X)
#undef X
	PCC_LL_COUNT
};

enum { PCC_LAYOUT_LIST_MAX = 16 };

struct pcc_member_list {
	int n;
	int offset[PCC_LAYOUT_LIST_MAX];
	char name[PCC_LAYOUT_LIST_MAX][32];
};

struct pcc_layout {
	/* Byte offset (or size), -1 when the struct or member is absent. */
	int64_t off[PCC_L_COUNT];
	/* Number of elements of array members (block.data), 0 if unknown. */
	int64_t count[PCC_L_COUNT];
	struct pcc_member_list lists[PCC_LL_COUNT];
	const char *source; /* "DWARF (path)" */
};

static inline bool pcc_layout_has(const struct pcc_layout *l,
				  enum pcc_layout_field f)
{
	return l->off[f] >= 0;
}

/* Fill a layout from the interpreter's DWARF.  PCC_ERROR_LOOKUP when the
 * module has no DWARF or lacks what every version has (PyObject). */
struct pcc_error *pcc_layout_from_dwarf(struct pcc_debuginfo *di,
					struct pcc_layout *ret);

/* The same from DWARF handles (a probe object, a debug file, then
 * extension modules): a struct the first handle defines wins. */
struct pcc_error *pcc_layout_from_dwarf_handles(Dwarf *const *dwarfs, size_t n,
						const char *what,
						struct pcc_layout *ret);

/* One-line text form, for built-in tables; and back. */
void pcc_layout_format(const struct pcc_layout *l, FILE *out);
bool pcc_layout_parse(const char *text, struct pcc_layout *ret);

const char *pcc_layout_field_name(enum pcc_layout_field f);
/* Offset of the member that Python calls label in a member list, -1. */
int64_t pcc_layout_list_member(const struct pcc_layout *l,
			       enum pcc_layout_list list, const char *label);

/* The field in CPython's words, for messages: "the member ob_refcnt of
 * PyObject", "the struct PyGC_Head" (malloc'd). */
char *pcc_layout_field_describe(enum pcc_layout_field f);

#endif
