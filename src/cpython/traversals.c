/* SPDX-License-Identifier: MIT */
/*
 * Which tp_traverse is which: by symbol, through exported type objects and
 * PyExc_ variables, and, in stripped builds, through the types of modules
 * every process imports.
 */
#include "config.h"

#include <string.h>

#include "interpreter.h"
#include "io_objects.h"
#include "object_dict.h"
#include "traversals.h"
#include "types.h"

/* tp_traverse functions by their symbol (present in .symtab and in separate
 * debug files), and exported type objects whose tp_traverse tells the same
 * when the symbol table is only .dynsym. */
static const struct {
	enum pcc_kind kind;
	const char *traverse;
	const char *type;
} known_traversals[] = {
	{ PCC_KIND_LIST, "list_traverse", "PyList_Type" },
	{ PCC_KIND_TUPLE, "tupletraverse", "PyTuple_Type" },
	{ PCC_KIND_DICT, "dict_traverse", "PyDict_Type" },
	{ PCC_KIND_SET, "set_traverse", "PySet_Type" },
	{ PCC_KIND_TYPE, "type_traverse", "PyType_Type" },
	{ PCC_KIND_FUNCTION, "func_traverse", "PyFunction_Type" },
	{ PCC_KIND_METHOD, "method_traverse", "PyMethod_Type" },
	{ PCC_KIND_CELL, "cell_traverse", "PyCell_Type" },
	{ PCC_KIND_CLASSMETHOD, "cm_traverse", "PyClassMethod_Type" },
	{ PCC_KIND_STATICMETHOD, "sm_traverse", "PyStaticMethod_Type" },
	{ PCC_KIND_PROPERTY, "property_traverse", "PyProperty_Type" },
	{ PCC_KIND_MODULE, "module_traverse", "PyModule_Type" },
	{ PCC_KIND_FRAME, "frame_traverse", "PyFrame_Type" },
	{ PCC_KIND_GENERATOR, "gen_traverse", "PyGen_Type" },
	{ PCC_KIND_ASYNC_GENERATOR, "async_gen_traverse", "PyAsyncGen_Type" },
	{ PCC_KIND_EXCEPTION, "BaseException_traverse", NULL },
	{ PCC_KIND_TRACEBACK, "tb_traverse", "PyTraceBack_Type" },
	{ PCC_KIND_WEAKREF, NULL, "_PyWeakref_RefType" },
	{ PCC_KIND_CFUNCTION, "meth_traverse", "PyCFunction_Type" },
	{ PCC_KIND_DESCRIPTOR, "descr_traverse", "PyMethodDescr_Type" },
	/* 2.7 does not export PyMethodDescr_Type; its other descriptor
	 * types share descr_traverse. */
	{ PCC_KIND_DESCRIPTOR, NULL, "PyWrapperDescr_Type" },
	{ PCC_KIND_METHOD_WRAPPER, "wrapper_traverse", "_PyMethodWrapper_Type" },
	{ PCC_KIND_MAPPINGPROXY, "mappingproxy_traverse", "PyDictProxy_Type" },
	{ PCC_KIND_DEQUE, "deque_traverse", NULL },
	{ PCC_KIND_DEFAULTDICT, "defdict_traverse", NULL },
	{ PCC_KIND_ORDEREDDICT, "odict_traverse", "PyODict_Type" },
	{ PCC_KIND_PARTIAL, "partial_traverse", NULL },
	{ PCC_KIND_FILEIO, "fileio_traverse", NULL },
	{ PCC_KIND_BUFFERED, "buffered_traverse", NULL },
	{ PCC_KIND_TEXTIO, "textiowrapper_traverse", NULL },
	{ PCC_KIND_RWPAIR, "bufferedrwpair_traverse", NULL },
};

/* Traversals that visit a fixed set of members, as listed in the layout,
 * by symbol, or by an exported type that uses it. */
static const struct {
	enum pcc_layout_list list;
	const char *traverse;
	const char *type;
	const char *exception; /* a PyExc_ variable: points at the type */
} member_traversals[] = {
	{ PCC_LL_LISTITER, "listiter_traverse", "PyListIter_Type", NULL },
	{ PCC_LL_TUPLEITER, "tupleiter_traverse", "PyTupleIter_Type", NULL },
	{ PCC_LL_DICTITER, "dictiter_traverse", "PyDictIterKey_Type", NULL },
	{ PCC_LL_SETITER, "setiter_traverse", "PySetIter_Type", NULL },
	{ PCC_LL_SEQITER, "iter_traverse", "PySeqIter_Type", NULL },
	{ PCC_LL_CALLITER, "calliter_traverse", "PyCallIter_Type", NULL },
	{ PCC_LL_ENUMERATE, "enum_traverse", "PyEnum_Type", NULL },
	{ PCC_LL_ZIP, "zip_traverse", "PyZip_Type", NULL },
	{ PCC_LL_MAP, "map_traverse", "PyMap_Type", NULL },
	{ PCC_LL_FILTER, "filter_traverse", "PyFilter_Type", NULL },
	{ PCC_LL_REVERSED, "reversed_traverse", "PyReversed_Type", NULL },
	{ PCC_LL_DICTVIEW, "dictview_traverse", "PyDictKeys_Type", NULL },
	{ PCC_LL_NAMESPACE, "namespace_traverse", "_PyNamespace_Type", NULL },
	{ PCC_LL_ABC_DATA, "abc_data_traverse", NULL, NULL },
	{ PCC_LL_TUPLEGETTER, "tuplegetter_traverse", NULL, NULL },
	{ PCC_LL_CLASSOBJ, "class_traverse", "PyClass_Type", NULL },
	{ PCC_LL_OLDINSTANCE, "instance_traverse", "PyInstance_Type", NULL },
	{ PCC_LL_STOPITERATION, "StopIteration_traverse", NULL, "PyExc_StopIteration" },
	{ PCC_LL_SYSTEMEXIT, "SystemExit_traverse", NULL, "PyExc_SystemExit" },
	{ PCC_LL_IMPORTERROR, "ImportError_traverse", NULL, "PyExc_ImportError" },
	{ PCC_LL_OSERROR, "OSError_traverse", NULL, "PyExc_OSError" },
	{ PCC_LL_OSERROR, "EnvironmentError_traverse", NULL, "PyExc_EnvironmentError" },
	{ PCC_LL_NAMEERROR, "NameError_traverse", NULL, "PyExc_NameError" },
	{ PCC_LL_ATTRIBUTEERROR, "AttributeError_traverse", NULL, "PyExc_AttributeError" },
	{ PCC_LL_SYNTAXERROR, "SyntaxError_traverse", NULL, "PyExc_SyntaxError" },
	{ PCC_LL_UNICODEERROR, "UnicodeError_traverse", NULL,
	  /* 3.x: UnicodeError itself has only the head */
	  "PyExc_UnicodeDecodeError" },
	{ PCC_LL_EXCEPTIONGROUP, "BaseExceptionGroup_traverse", NULL,
	  "PyExc_BaseExceptionGroup" },
	{ PCC_LL_GENERICALIAS, "ga_traverse", "Py_GenericAliasType", NULL },
};
#define N_MEMBER_TRAVERSALS (sizeof(member_traversals) / sizeof(member_traversals[0]))

/*
 * Without a full symbol table (a stripped distribution build), the
 * traversals of types that no symbol exports are found through the
 * modules every process imports: the type object's tp_traverse is the
 * function.  codecs.CodecInfo is a class defined in Python, so its
 * traversal is subtype_traverse.
 */
static const struct {
	enum pcc_kind kind;
	enum pcc_layout_list list; /* with PCC_KIND_MEMBERS */
	const char *module, *attr;
} module_traversals[] = {
	{ PCC_KIND_INSTANCE, 0, "codecs", "CodecInfo" },
	{ PCC_KIND_DEQUE, 0, "_collections", "deque" },
	{ PCC_KIND_DEFAULTDICT, 0, "_collections", "defaultdict" },
	{ PCC_KIND_MEMBERS, PCC_LL_TUPLEGETTER, "_collections", "_tuplegetter" },
	{ PCC_KIND_PARTIAL, 0, "_functools", "partial" },
	{ PCC_KIND_FILEIO, 0, "_io", "FileIO" },
	{ PCC_KIND_BUFFERED, 0, "_io", "BufferedWriter" },
	{ PCC_KIND_TEXTIO, 0, "_io", "TextIOWrapper" },
	{ PCC_KIND_RWPAIR, 0, "_io", "BufferedRWPair" },
};

static const char *const other_symbols[] = {
	"_PyRuntime",    "Py_Version",      "_PyGC_generation0",
	"subtype_traverse", "_PySet_Dummy", "lookdict",
	"PyExc_BaseException", "PyUnicode_Type", "_PyThreadState_Current",
	"PyFile_Type", "PyUnicodeUCS2_AsUnicode", "PyUnicodeUCS4_AsUnicode",
	"PyString_Type", "PyBaseObject_Type", "PyFrozenSet_Type",
	"PyLong_Type", "PyBytes_Type", "PyTuple_Type",
};

void pcc_python_load_symbols(struct pcc_python *py)
{
	size_t n = sizeof(known_traversals) / sizeof(known_traversals[0]);
	size_t nother = sizeof(other_symbols) / sizeof(other_symbols[0]);
	const char **names = pcc_xcalloc(2 * n + nother + 3 * N_MEMBER_TRAVERSALS,
					 sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < N_MEMBER_TRAVERSALS; i++) {
		names[k++] = member_traversals[i].traverse;
		if (member_traversals[i].type)
			names[k++] = member_traversals[i].type;
		if (member_traversals[i].exception)
			names[k++] = member_traversals[i].exception;
	}
	for (size_t i = 0; i < n; i++) {
		if (known_traversals[i].traverse)
			names[k++] = known_traversals[i].traverse;
		if (known_traversals[i].type)
			names[k++] = known_traversals[i].type;
	}
	for (size_t i = 0; i < nother; i++)
		names[k++] = other_symbols[i];
	pcc_debuginfo_load_symbols(py->di, names, k);
	free(names);
}

static uint64_t traverse_of_type(struct pcc_python *py, uint64_t type)
{
	uint64_t fn = 0;
	if (type)
		pcc_target_read_u64(py->t, type + py->l.off[PCC_L_TP_TRAVERSE], &fn);
	return fn;
}

/* The traversal of the exception type a PyExc_ variable points at. */
static uint64_t traverse_of_exception(struct pcc_python *py, const char *var)
{
	uint64_t p = pcc_debuginfo_symbol(py->di, var, NULL), type;
	return p && pcc_target_read_u64(py->t, p, &type) ? traverse_of_type(py, type)
							 : 0;
}

void pcc_python_find_traversals(struct pcc_python *py)
{
	size_t n = sizeof(known_traversals) / sizeof(known_traversals[0]);
	memset(py->traverse_fn, 0, sizeof(py->traverse_fn));
	memset(py->member_traverse_fn, 0, sizeof(py->member_traverse_fn));
	for (size_t i = 0; i < n; i++) {
		if (py->traverse_fn[known_traversals[i].kind])
			continue; /* an earlier row of this kind found it */
		uint64_t fn = 0;
		if (known_traversals[i].traverse)
			fn = pcc_debuginfo_symbol(py->di, known_traversals[i].traverse,
						  NULL);
		if (!fn && known_traversals[i].type)
			fn = traverse_of_type(
				py, pcc_debuginfo_symbol(py->di,
							 known_traversals[i].type,
							 NULL));
		py->traverse_fn[known_traversals[i].kind] = fn;
	}
	if (!py->traverse_fn[PCC_KIND_EXCEPTION])
		py->traverse_fn[PCC_KIND_EXCEPTION] =
			traverse_of_exception(py, "PyExc_BaseException");
	for (size_t i = 0; i < N_MEMBER_TRAVERSALS; i++) {
		enum pcc_layout_list list = member_traversals[i].list;
		if (!py->l.lists[list].n || py->member_traverse_fn[list])
			continue; /* or an earlier row of this list found it */
		uint64_t fn = pcc_debuginfo_symbol(py->di,
						   member_traversals[i].traverse, NULL);
		if (!fn && member_traversals[i].type)
			fn = traverse_of_type(
				py, pcc_debuginfo_symbol(py->di,
							 member_traversals[i].type,
							 NULL));
		if (!fn && member_traversals[i].exception)
			fn = traverse_of_exception(py, member_traversals[i].exception);
		py->member_traverse_fn[list] = fn;
	}
	py->subtype_traverse = pcc_debuginfo_symbol(py->di, "subtype_traverse",
						    NULL);
	/* 2.7: the unicode API's names say how wide Py_UNICODE is. */
	py->unicode_width = pcc_debuginfo_symbol(py->di, "PyUnicodeUCS4_AsUnicode", NULL) ? 4
			    : pcc_debuginfo_symbol(py->di, "PyUnicodeUCS2_AsUnicode", NULL) ? 2
											     : 0;
	py->file_type = pcc_debuginfo_symbol(py->di, "PyFile_Type", NULL);
	py->lookdict = pcc_debuginfo_symbol(py->di, "lookdict", NULL);
	py->type_type = pcc_debuginfo_symbol(py->di, "PyType_Type", NULL);
	uint64_t dummy_ptr = pcc_debuginfo_symbol(py->di, "_PySet_Dummy", NULL);
	if (!dummy_ptr) /* 2.7: a static pointer of setobject.c */
		dummy_ptr = pcc_debuginfo_static_symbol(py->di, "setobject.c",
							"dummy", NULL);
	py->set_dummy = py->set_dummy_str_type = 0;
	if (dummy_ptr)
		pcc_target_read_u64(py->t, dummy_ptr, &py->set_dummy);
	else if (pcc_layout_has(&py->l, PCC_L_STRING_SVAL))
		py->set_dummy_str_type = pcc_debuginfo_symbol(py->di, "PyString_Type",
							      NULL);
}

/* The type object module.attr of the main interpreter, 0 if not loaded. */
static uint64_t module_attr(struct pcc_python *py, uint64_t modules,
			    const char *module, const char *attr)
{
	uint64_t mod = pcc_python_dict_get(py, modules, module);
	return mod ? pcc_python_dict_get(py, pcc_python_object_dict(py, mod), attr)
		   : 0;
}

/* Whether the traversal of the module type `type` was written for a heap
 * type, and so visits Py_TYPE(self) (3.9+).  Those of the built-in static
 * types never do (see visits_heap_type). */
static bool written_for_heap_type(struct pcc_python *py, uint64_t type)
{
	uint64_t flags;
	return py->heap_types_visit_self && type
	       && pcc_target_read_u64(py->t, type + py->l.off[PCC_L_TP_FLAGS], &flags)
	       && (flags & PCC_TPFLAGS_HEAPTYPE);
}

void pcc_python_find_module_traversals(struct pcc_python *py, uint64_t interp)
{
	uint64_t modules = 0;
	memset(py->kind_visits_heap_type, 0, sizeof(py->kind_visits_heap_type));
	memset(py->list_visits_heap_type, 0, sizeof(py->list_visits_heap_type));
	/* Types described so far were described without what follows. */
	pcc_python_forget_types(py);
	if (!pcc_layout_has(&py->l, PCC_L_INTERP_MODULES)
	    || !pcc_target_read_u64(py->t, interp + py->l.off[PCC_L_INTERP_MODULES],
				    &modules)
	    || !modules)
		return;
	size_t n = sizeof(module_traversals) / sizeof(module_traversals[0]);
	for (size_t i = 0; i < n; i++) {
		enum pcc_kind kind = module_traversals[i].kind;
		enum pcc_layout_list list = module_traversals[i].list;
		uint64_t *slot = kind == PCC_KIND_INSTANCE ? &py->subtype_traverse
				 : kind == PCC_KIND_MEMBERS
					 ? &py->member_traverse_fn[list]
					 : &py->traverse_fn[kind];
		uint64_t type = module_attr(py, modules, module_traversals[i].module,
					    module_traversals[i].attr);
		if (!*slot)
			*slot = traverse_of_type(py, type);
		if (kind == PCC_KIND_MEMBERS)
			py->list_visits_heap_type[list] = written_for_heap_type(py, type);
		else if (kind != PCC_KIND_INSTANCE)
			py->kind_visits_heap_type[kind] = written_for_heap_type(py, type);
	}
	/* An abc.ABC subclass keeps an _abc._abc_data in _abc_impl. */
	if (py->l.lists[PCC_LL_ABC_DATA].n) {
		uint64_t abc = module_attr(py, modules, "abc", "ABC"), tp_dict = 0;
		if (abc && pcc_layout_has(&py->l, PCC_L_TP_DICT))
			pcc_target_read_u64(py->t, abc + py->l.off[PCC_L_TP_DICT], &tp_dict);
		uint64_t impl = pcc_python_dict_get(py, tp_dict, "_abc_impl");
		uint64_t type = impl ? pcc_python_ob_type(py, impl) : 0;
		if (!py->member_traverse_fn[PCC_LL_ABC_DATA])
			py->member_traverse_fn[PCC_LL_ABC_DATA] = traverse_of_type(py, type);
		py->list_visits_heap_type[PCC_LL_ABC_DATA] = written_for_heap_type(py, type);
	}
	/* 3.13 exports no _PyNamespace_Type; sys.implementation is one. */
	if (py->l.lists[PCC_LL_NAMESPACE].n && !py->member_traverse_fn[PCC_LL_NAMESPACE]) {
		uint64_t impl = module_attr(py, modules, "sys", "implementation");
		uint64_t type = impl ? pcc_python_ob_type(py, impl) : 0;
		struct pcc_type_info *ti = type ? pcc_python_type(py, type) : NULL;
		const char *name = ti ? pcc_python_type_name(py, ti) : NULL;
		if (name && !strcmp(name, "types.SimpleNamespace"))
			py->member_traverse_fn[PCC_LL_NAMESPACE] = traverse_of_type(py, type);
	}
	/* The lookups above described types before the flags were known. */
	pcc_python_forget_types(py);
}

/* Find sys.version in the interpreter's sys dict: "3.9.18 (main, ...". */
