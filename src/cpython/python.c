/* SPDX-License-Identifier: MIT */
/*
 * The interpreter: version, build flavour, interpreters and the collector
 * state of each.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "io_objects.h"
#include "python.h"

enum {
	MAX_INTERPRETERS = 4096,
	/* Every pass over the heap reads each item slot once, and a real
	 * heap's slots are a fraction of its memory: 16 reads per mapped
	 * word leave room for all passes many times over. */
	ITEM_READS_PER_WORD = 16,
};

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
	"PyString_Type",
};

static void load_symbols(struct pcc_python *py)
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

static void find_traversals(struct pcc_python *py)
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

static void find_module_traversals(struct pcc_python *py, uint64_t interp)
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
static bool visit_sysdict(void *ctx, uint64_t ref, const struct pcc_edge *e)
{
	struct pcc_python *py = ctx;
	if (py->version[0] || !e || e->label != PCC_EDGE_DICT_VALUE || !e->key)
		return false;
	char *key = pcc_python_str(py, e->key, 16);
	if (key && strcmp(key, "version") == 0) {
		char *v = pcc_python_str(py, ref, 64);
		if (v) {
			snprintf(py->version, sizeof(py->version), "%s", v);
			char *sp = strchr(py->version, ' ');
			if (sp)
				*sp = 0;
		}
		free(v);
	}
	free(key);
	return py->version[0] != 0;
}

static struct pcc_error *find_version(struct pcc_python *py,
				      uint64_t first_interp)
{
	uint64_t addr = pcc_debuginfo_symbol(py->di, "Py_Version", NULL), hex;
	if (addr && pcc_target_read_u64(py->t, addr, &hex)) {
		hex &= 0xffffffffu;
		py->major = (int)(hex >> 24) & 0xff;
		py->minor = (int)(hex >> 16) & 0xff;
		py->micro = (int)(hex >> 8) & 0xff;
		snprintf(py->version, sizeof(py->version), "%d.%d.%d",
			 py->major, py->minor, py->micro);
		return NULL;
	}
	uint64_t sysdict = 0;
	if (first_interp && pcc_layout_has(&py->l, PCC_L_INTERP_SYSDICT))
		pcc_target_read_u64(py->t,
				    first_interp + py->l.off[PCC_L_INTERP_SYSDICT],
				    &sysdict);
	if (sysdict)
		pcc_python_traverse(py, sysdict, visit_sysdict, py, true, NULL);
	if (sscanf(py->version, "%d.%d.%d", &py->major, &py->minor,
		   &py->micro) != 3)
		return pcc_error_create(PCC_ERROR_BAD_DATA,
					"cannot determine the Python version: "
					"neither Py_Version nor sys.version is "
					"readable");
	return NULL;
}

/* An int of the target at addr into *ret (-1 when unreadable). */
static bool read_int(struct pcc_python *py, uint64_t addr, int *ret)
{
	uint32_t v;
	bool ok = pcc_target_read_u32(py->t, addr, &v);
	*ret = ok ? (int)v : -1;
	return ok;
}

/* Where one collector state keeps each of its fields: members of a struct
 * (3.7+), or static variables of Modules/gcmodule.c (2.7, 3.6).  0 when the
 * field is absent or could not be found. */
struct gc_vars {
	uint64_t enabled, debug, collecting, garbage, callbacks;
	uint64_t generations, permanent;
};

static void gc_vars_in_struct(const struct pcc_layout *l, uint64_t s,
			      struct gc_vars *v)
{
	v->enabled = s + l->off[PCC_L_GCSTATE_ENABLED];
	v->debug = s + l->off[PCC_L_GCSTATE_DEBUG];
	v->collecting = s + l->off[PCC_L_GCSTATE_COLLECTING];
	v->garbage = s + l->off[PCC_L_GCSTATE_GARBAGE];
	v->callbacks = pcc_layout_has(l, PCC_L_GCSTATE_CALLBACKS)
			       ? s + l->off[PCC_L_GCSTATE_CALLBACKS] : 0;
	v->generations = s + l->off[PCC_L_GCSTATE_GENERATIONS];
	v->permanent = pcc_layout_has(l, PCC_L_GCSTATE_PERMANENT)
			       ? s + l->off[PCC_L_GCSTATE_PERMANENT] : 0;
}

/*
 * 2.7 and 3.6: the exported _PyGC_generation0 points at the head of
 * generations[0]; the array and the other fields are static variables of
 * gcmodule.c whose names (enabled, debug, garbage) other files use too.
 */
static struct pcc_error *gc_vars_static(struct pcc_python *py,
					struct gc_vars *v)
{
	const struct pcc_layout *l = &py->l;
	struct pcc_debuginfo *di = py->di;
	memset(v, 0, sizeof(*v));
	uint64_t gen0_ptr = pcc_debuginfo_symbol(di, "_PyGC_generation0", NULL),
		 gen0 = 0;
	if (!gen0_ptr || !pcc_target_read_u64(py->t, gen0_ptr, &gen0) || !gen0)
		return pcc_error_create(PCC_ERROR_BAD_DATA,
					"cannot read _PyGC_generation0 of %s: "
					"the core may be truncated or from "
					"another build",
					di->python_file);
	static const char file[] = "gcmodule.c";
	v->generations = pcc_debuginfo_static_symbol(di, file, "generations", NULL);
	if (v->generations && v->generations + l->off[PCC_L_GEN_HEAD] != gen0)
		return pcc_error_create(PCC_ERROR_BAD_DATA,
					"_PyGC_generation0 (0x%llx) is not the "
					"head of generations[0] (0x%llx): the "
					"debug info does not match the core",
					(unsigned long long)gen0,
					(unsigned long long)v->generations);
	if (!v->generations)
		v->generations = gen0 - (uint64_t)l->off[PCC_L_GEN_HEAD];
	v->enabled = pcc_debuginfo_static_symbol(di, file, "enabled", NULL);
	v->debug = pcc_debuginfo_static_symbol(di, file, "debug", NULL);
	v->collecting = pcc_debuginfo_static_symbol(di, file, "collecting", NULL);
	v->garbage = pcc_debuginfo_static_symbol(di, file, "garbage", NULL);
	v->callbacks = pcc_debuginfo_static_symbol(di, file, "callbacks", NULL);
	return NULL;
}

/*
 * 2.7 and 3.6 without DWARF and without a full symbol table (a stripped
 * module has .dynsym only): the generations come from _PyGC_generation0,
 * but the other static variables cannot be found.  They are reported as
 * unknown, never guessed; say so once.
 */
static void warn_lost_statics(struct pcc_python *py, const struct gc_vars *v)
{
	/* gc.callbacks came with 3.3. */
	const struct {
		uint64_t addr;
		const char *name;
	} vars[] = {
		{ v->enabled, "enabled" },
		{ v->debug, "debug" },
		{ v->collecting, "collecting" },
		{ v->garbage, "garbage" },
		{ py->traits->gc_callbacks ? v->callbacks : 1, "callbacks" },
	};
	char names[128] = "";
	size_t len = 0;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (vars[i].addr)
			continue;
		int n = snprintf(names + len, sizeof(names) - len, "%s%s",
				 len ? ", " : "", vars[i].name);
		if (n > 0 && (size_t)n < sizeof(names) - len)
			len += (size_t)n;
	}
	if (!len)
		return;
	pcc_target_warn(py->t,
			"%s has no debug info and %s: the collector's static "
			"variables %s of gcmodule.c cannot be found, so they "
			"are reported as unknown (the generation lists come "
			"from _PyGC_generation0)",
			py->di->python_file ? py->di->python_file
					    : py->di->python_name,
			pcc_debuginfo_has_local_symbols(py->di)
				? "its symbol table lacks them"
				: "no symbol table of local symbols (stripped)",
			names);
}

/* An int field of the state at addr (0: not found); unknown marks it. */
static void read_gc_int(struct pcc_python *py, struct pcc_gc_state *gs,
			uint64_t addr, unsigned field, int *ret)
{
	if (!addr || !read_int(py, addr, ret)) {
		*ret = 0;
		gs->unknown |= field;
	}
}

/* The length of a list whose address is stored at addr, -1 if unknown. */
static int64_t read_list_len(struct pcc_python *py, struct pcc_gc_state *gs,
			     uint64_t addr, unsigned field, uint64_t *list)
{
	uint64_t len;
	*list = 0;
	if (!addr || !pcc_target_read_u64(py->t, addr, list) || !*list
	    || !pcc_target_read_u64(py->t, *list + py->off_size, &len)) {
		gs->unknown |= field;
		return -1;
	}
	return (int64_t)len;
}

static void read_gc_state(struct pcc_python *py, struct pcc_gc_state *gs,
			  const struct gc_vars *v)
{
	const struct pcc_layout *l = &py->l;
	read_gc_int(py, gs, v->enabled, PCC_GC_ENABLED, &gs->enabled);
	read_gc_int(py, gs, v->debug, PCC_GC_DEBUG, &gs->debug);
	read_gc_int(py, gs, v->collecting, PCC_GC_COLLECTING, &gs->collecting);
	gs->garbage_len = read_list_len(py, gs, v->garbage, PCC_GC_GARBAGE,
					&gs->garbage_list);
	gs->callbacks_len = read_list_len(py, gs, v->callbacks, PCC_GC_CALLBACKS,
					  &gs->callbacks_list);
	for (int i = 0; i < PCC_GENERATIONS; i++) {
		uint64_t gen = v->generations + (uint64_t)i * l->off[PCC_L_GEN_SIZE];
		gs->list_heads[i] = gen + l->off[PCC_L_GEN_HEAD];
		read_int(py, gen + l->off[PCC_L_GEN_THRESHOLD], &gs->thresholds[i]);
		read_int(py, gen + l->off[PCC_L_GEN_COUNT], &gs->counts[i]);
	}
	if (v->permanent)
		gs->permanent_head = v->permanent + l->off[PCC_L_GEN_HEAD];
}

/* The first field of a list (ended by PCC_L_COUNT) that the layout lacks. */
static enum pcc_layout_field first_missing(const struct pcc_layout *l,
					   const enum pcc_layout_field *fields)
{
	for (; *fields != PCC_L_COUNT; fields++)
		if (!pcc_layout_has(l, *fields))
			return *fields;
	return PCC_L_COUNT;
}

/*
 * 3.14.0-3.14.4's incremental collector names its lists young, old[0] and
 * old[1]: the same three gc_generation structs, in the same place, as the
 * generations[3] before and after it.  For a full collection, which is what
 * is redone here, they are the three generations.
 */
static void adopt_incremental_lists(struct pcc_layout *l)
{
	if (pcc_layout_has(l, PCC_L_GCSTATE_GENERATIONS)
	    || !pcc_layout_has(l, PCC_L_GCSTATE_YOUNG)
	    || !pcc_layout_has(l, PCC_L_GCSTATE_OLD)
	    || !pcc_layout_has(l, PCC_L_GEN_SIZE)
	    || l->off[PCC_L_GCSTATE_OLD]
		       != l->off[PCC_L_GCSTATE_YOUNG] + l->off[PCC_L_GEN_SIZE])
		return;
	l->off[PCC_L_GCSTATE_GENERATIONS] = l->off[PCC_L_GCSTATE_YOUNG];
	l->count[PCC_L_GCSTATE_GENERATIONS] = PCC_GENERATIONS;
}

/* gc_in_struct: the collector's state is a struct (3.7+). */
static struct pcc_error *check_layout(struct pcc_python *py, bool gc_in_struct)
{
	static const enum pcc_layout_field required[] = {
		PCC_L_OB_REFCNT, PCC_L_OB_TYPE, PCC_L_OB_SIZE, PCC_L_GC_HEAD_SIZE,
		PCC_L_GC_NEXT, PCC_L_GC_PREV, PCC_L_TP_NAME, PCC_L_TP_BASICSIZE,
		PCC_L_TP_ITEMSIZE, PCC_L_TP_FLAGS, PCC_L_TP_TRAVERSE,
		PCC_L_TP_DICTOFFSET, PCC_L_TP_BASE, PCC_L_MEMBERDEF_SIZE,
		PCC_L_MEMBERDEF_TYPE, PCC_L_MEMBERDEF_OFFSET, PCC_L_MEMBERDEF_NAME,
		PCC_L_INTERP_NEXT, PCC_L_GEN_SIZE, PCC_L_GEN_HEAD,
		PCC_L_GEN_THRESHOLD, PCC_L_GEN_COUNT, PCC_L_LIST_ITEMS,
		PCC_L_TUPLE_ITEMS, PCC_L_DKE_SIZE, PCC_L_DKE_KEY, PCC_L_DKE_VALUE,
		PCC_L_SET_MASK, PCC_L_SET_TABLE, PCC_L_SETENTRY_SIZE,
		PCC_L_SETENTRY_KEY, PCC_L_COUNT
	};
	/* The collector's state in a struct (3.7+; 2.7 and 3.6 keep it in
	 * static variables). */
	static const enum pcc_layout_field gc_struct[] = {
		PCC_L_GCSTATE_ENABLED, PCC_L_GCSTATE_DEBUG,
		PCC_L_GCSTATE_GENERATIONS, PCC_L_GCSTATE_COLLECTING,
		PCC_L_GCSTATE_GARBAGE, PCC_L_COUNT
	};
	/* Dicts with a keys object (3.6+) or with their table inline (2.7). */
	static const enum pcc_layout_field dict_keys[] = {
		PCC_L_DICT_KEYS, PCC_L_DK_NENTRIES, PCC_L_DK_INDICES, PCC_L_COUNT
	};
	static const enum pcc_layout_field dict_table[] = {
		PCC_L_DICT_MASK, PCC_L_DICT_TABLE, PCC_L_COUNT
	};
	const struct pcc_debuginfo *di = py->di;
	bool apart = di->debug_file && di->python_file
		     && strcmp(di->debug_file, di->python_file) != 0;
	enum pcc_layout_field missing = first_missing(&py->l, required);
	if (missing == PCC_L_COUNT && gc_in_struct)
		missing = first_missing(&py->l, gc_struct);
	if (missing == PCC_L_COUNT && first_missing(&py->l, dict_table) != PCC_L_COUNT)
		missing = first_missing(&py->l, dict_keys);
	if (missing == PCC_L_COUNT)
		return NULL;
	/* Built-in layouts are complete: this is DWARF that does not describe
	 * the interpreter (partial, or of another build). */
	char *what = pcc_layout_field_describe(missing);
	struct pcc_error *err = pcc_error_hint(
		pcc_error_create(PCC_ERROR_UNSUPPORTED,
				 "the debug info of %s%s%s%s does not describe "
				 "%s: it is incomplete, or not that of this "
				 "build", di->python_file,
				 apart ? " (in " : "", apart ? di->debug_file : "",
				 apart ? ")" : "", what),
		"pass this build's own debug info (--debuginfo-path DIR), or "
		"--no-dwarf to use pycorecheck's built-in layouts");
	free(what);
	return err;
}

/*
 * The first interpreter: _PyRuntime.interpreters.head (3.7+); before
 * _PyRuntime (2.7, 3.6) the static interp_head of Python/pystate.c, else
 * the interpreter of the thread that held the GIL.  0 if unreadable.
 */
static uint64_t first_interpreter(struct pcc_python *py, uint64_t runtime)
{
	const struct pcc_layout *l = &py->l;
	uint64_t interp = 0, head, tstate;
	if (runtime) {
		if (pcc_layout_has(l, PCC_L_RUNTIME_INTERP_HEAD))
			pcc_target_read_u64(py->t,
					    runtime + l->off[PCC_L_RUNTIME_INTERP_HEAD],
					    &interp);
		return interp;
	}
	head = pcc_debuginfo_static_symbol(py->di, "pystate.c", "interp_head", NULL);
	if (head && pcc_target_read_u64(py->t, head, &interp) && interp)
		return interp;
	head = pcc_debuginfo_symbol(py->di, "_PyThreadState_Current", NULL);
	if (head && pcc_layout_has(l, PCC_L_TSTATE_INTERP)
	    && pcc_target_read_u64(py->t, head, &tstate) && tstate)
		pcc_target_read_u64(py->t, tstate + l->off[PCC_L_TSTATE_INTERP],
				    &interp);
	return interp;
}

/*
 * interp->next comes from the target: a list that comes back to an
 * interpreter already read loops, and whatever follows is not another
 * interpreter.  Said once; the list ends there.  Quadratic in the
 * interpreters read, which MAX_INTERPRETERS bounds.
 */
static bool interpreter_seen(struct pcc_python *py, uint64_t interp)
{
	for (size_t i = 0; i < py->gcs.len; i++) {
		if (py->gcs.data[i].interp_addr != interp)
			continue;
		pcc_target_warn(py->t,
				"the interpreter list loops back to the "
				"interpreter at 0x%llx after %zu interpreters: "
				"it is corrupt, and the loop is not followed",
				(unsigned long long)interp, py->gcs.len);
		return true;
	}
	return false;
}

/* Does the state just read (the last one) share a collector state or a
 * generation list with one before it?  Two interpreters never do: the
 * "interpreter" lies over another one, and walking its lists would walk
 * the same objects again. */
static bool lists_seen(struct pcc_python *py, const struct pcc_gc_state *gs)
{
	uint64_t mine[PCC_GENERATIONS + 1];
	memcpy(mine, gs->list_heads, sizeof(gs->list_heads));
	mine[PCC_GENERATIONS] = gs->permanent_head;
	for (size_t i = 0; i + 1 < py->gcs.len; i++) {
		const struct pcc_gc_state *o = &py->gcs.data[i];
		bool same = gs->state_addr && o->state_addr == gs->state_addr;
		for (int g = 0; g <= PCC_GENERATIONS && !same; g++) {
			if (!mine[g])
				continue;
			for (int k = 0; k < PCC_GENERATIONS; k++)
				same |= o->list_heads[k] == mine[g];
			same |= o->permanent_head == mine[g];
		}
		if (!same)
			continue;
		pcc_target_warn(py->t,
				"the interpreter at 0x%llx shares the "
				"collector's lists of the interpreter at "
				"0x%llx: the interpreter list is corrupt, and "
				"is not followed further",
				(unsigned long long)gs->interp_addr,
				(unsigned long long)o->interp_addr);
		return true;
	}
	return false;
}

struct pcc_error *pcc_python_open(struct pcc_target *t,
				  struct pcc_debuginfo *di,
				  struct pcc_python **ret)
{
	struct pcc_python *py = pcc_xcalloc(1, sizeof(*py));
	py->t = t;
	py->di = di;
	py->item_budget = pcc_python_mapped_bytes(py) / 8 * ITEM_READS_PER_WORD;
	load_symbols(py);
	uint64_t runtime = pcc_debuginfo_symbol(di, "_PyRuntime", NULL);
	py->type_type = pcc_debuginfo_symbol(di, "PyType_Type", NULL);
	py->unicode_type = pcc_debuginfo_symbol(di, "PyUnicode_Type", NULL);
	/* 3.13+ start _PyRuntime with _Py_DebugOffsets, which says whether
	 * this is a free-threaded build: its objects have no PyGC_Head, so
	 * no layout, from DWARF or a table, can be walked.  Said first, before
	 * a layout error could hide the reason. */
	const uint8_t *cookie = runtime ? pcc_target_ptr(t, runtime, 24) : NULL;
	if (cookie && memcmp(cookie, "xdebugpy", 8) == 0) {
		uint64_t version, free_threaded;
		memcpy(&version, cookie + 8, 8);
		memcpy(&free_threaded, cookie + 16, 8);
		/* Only a well-formed record (a 3.13+ version, a flag of 1)
		 * says free-threaded; anything else there is damage. */
		bool plausible = version >> 24 == 3 && ((version >> 16) & 0xff) >= 13;
		if (free_threaded > 1 || (free_threaded && !plausible)) {
			pcc_python_destroy(py);
			return pcc_error_hint(
				pcc_error_create(PCC_ERROR_INPUT,
						 "the memory of the target is "
						 "damaged: the _Py_DebugOffsets "
						 "record of %s holds version 0x%llx, "
						 "free_threaded %llu",
						 di->python_file ? di->python_file
								 : di->python_name,
						 (unsigned long long)version,
						 (unsigned long long)free_threaded),
				"if it is a core, take it again or check how it was copied");
		}
		if (free_threaded) {
			pcc_python_destroy(py);
			return pcc_error_hint(
				pcc_error_create(PCC_ERROR_UNSUPPORTED,
						 "%s is a free-threaded Python "
						 "build (--disable-gil), which "
						 "pycorecheck does not analyse "
						 "yet",
						 di->python_file ? di->python_file
								 : di->python_name),
				"pycorecheck walks the collector's PyGC_Head lists, "
				"which such builds do not have");
		}
	}
	struct pcc_error *err = pcc_layout_from_dwarf(di, &py->l);
	if (err && !di->dwarf) {
		/* No DWARF: a built-in table, checked against the core.  3.11+
		 * export their version, which picks the nearest table. */
		pcc_error_destroy(err);
		uint64_t hex = 0, addr = pcc_debuginfo_symbol(di, "Py_Version", NULL);
		if (addr)
			pcc_target_read_u64(t, addr, &hex);
		int major = (int)(hex >> 24) & 0xff, minor = (int)(hex >> 16) & 0xff,
		    micro = (int)(hex >> 8) & 0xff;
		/* Before 3.11 the file name is the hint: libpython3.9.so. */
		const char *name = di->python_file ? strstr(di->python_file, "python")
						   : NULL;
		if (!hex && name && sscanf(name, "python%d.%d", &major, &minor) != 2)
			major = minor = 0;
		err = pcc_python_builtin_layout(py, runtime, major, minor, micro);
	}
	if (err)
		goto fail;

	/* 2.7 and 3.6 have no _PyRuntime: their collector's state is static. */
	struct gc_vars statics = { 0 };
	if (!runtime) {
		err = gc_vars_static(py, &statics);
		if (err)
			goto fail;
	}
	adopt_incremental_lists(&py->l);
	err = check_layout(py, runtime != 0);
	if (err)
		goto fail;

	const struct pcc_layout *l = &py->l;
	py->gc_head_size = l->off[PCC_L_GC_HEAD_SIZE];
	py->off_refcnt = l->off[PCC_L_OB_REFCNT];
	py->off_type = l->off[PCC_L_OB_TYPE];
	py->off_size = l->off[PCC_L_OB_SIZE];
	py->gc_head_size = l->off[PCC_L_GC_HEAD_SIZE];
	py->gc_refs_in_head = pcc_layout_has(l, PCC_L_GC_REFS);
	find_traversals(py);

	uint64_t interp = first_interpreter(py, runtime);
	if (!interp) {
		err = pcc_error_create(PCC_ERROR_BAD_DATA,
				       "cannot read the interpreter list %s%s: "
				       "the core may be truncated or from "
				       "another build",
				       runtime ? "at _PyRuntime in " : "of ",
				       di->python_file);
		goto fail;
	}
	err = find_version(py, interp);
	if (err)
		goto fail;
	py->traits = pcc_version_traits(py->major, py->minor);
	if (!py->traits) {
		err = pcc_error_create(PCC_ERROR_UNSUPPORTED,
				       "Python %s is older than 2.7, the oldest "
				       "pycorecheck reads", py->version);
		goto fail;
	}
	if (py->layout_major
	    && (py->layout_major != py->major || py->layout_minor != py->minor)) {
		/* The checks let another version's table through (3.9 and 3.10
		 * agree on everything they look at): now that sys.version is
		 * known, choose again among that version's tables. */
		int major = py->major, minor = py->minor, micro = py->micro;
		err = pcc_python_builtin_layout(py, runtime, major, minor, micro);
		if (err)
			goto fail;
		find_traversals(py);
		pcc_python_forget_types(py);
	}
	py->immortal_refcnt = py->traits->immortal_refcnt;
	py->heap_types_visit_self = py->traits->heap_types_visit_self;
	py->inline_values_owner_only =
		pcc_version_inline_values_owner_only(py->traits, py->micro);

	find_module_traversals(py, interp);

	int n = 0;
	for (; interp && n < MAX_INTERPRETERS; n++) {
		if (interpreter_seen(py, interp))
			break;
		struct pcc_gc_state *gs = pcc_gc_state_vec_push(&py->gcs);
		memset(gs, 0, sizeof(*gs));
		gs->interp_addr = interp;
		uint64_t id = (uint64_t)n;
		if (pcc_layout_has(l, PCC_L_INTERP_ID))
			pcc_target_read_u64(t, interp + l->off[PCC_L_INTERP_ID], &id);
		gs->interp_id = (int64_t)id;
		struct gc_vars vars;
		if (pcc_layout_has(l, PCC_L_INTERP_GC)) {
			gs->state_addr = interp + l->off[PCC_L_INTERP_GC];
			gc_vars_in_struct(l, gs->state_addr, &vars);
		} else if (n == 0 && runtime && pcc_layout_has(l, PCC_L_RUNTIME_GC)) {
			gs->state_addr = runtime + l->off[PCC_L_RUNTIME_GC];
			gs->shared = true;
			gc_vars_in_struct(l, gs->state_addr, &vars);
		} else if (n == 0 && !runtime) {
			vars = statics;
			gs->shared = true;
		} else {
			py->gcs.len--;
			break;
		}
		read_gc_state(py, gs, &vars);
		if (lists_seen(py, gs)) {
			py->gcs.len--;
			break;
		}
		if (!pcc_target_read_u64(t, interp + l->off[PCC_L_INTERP_NEXT],
					 &interp))
			break;
	}
	if (interp && n == MAX_INTERPRETERS)
		pcc_target_warn(t, "the interpreter list goes on after %d "
				"interpreters (at 0x%llx): it is corrupt, and "
				"only the first %d are analysed",
				MAX_INTERPRETERS, (unsigned long long)interp,
				MAX_INTERPRETERS);
	if (py->gcs.len == 0) {
		err = pcc_error_create(PCC_ERROR_BAD_DATA,
				       "no garbage collector state found");
		goto fail;
	}
	if (!runtime)
		warn_lost_statics(py, &statics);
	*ret = py;
	return NULL;
fail:
	pcc_python_destroy(py);
	return err;
}

uint64_t pcc_python_mapped_bytes(const struct pcc_python *py)
{
	uint64_t bytes = 0;
	const struct pcc_segment_vec *segs = &py->t->segments;
	for (size_t i = 0; i < segs->len; i++)
		bytes += segs->data[i].end - segs->data[i].start;
	return bytes;
}

void pcc_python_destroy(struct pcc_python *py)
{
	if (!py)
		return;
	pcc_python_emulated_free(py);
	pcc_python_forget_types(py);
	free(py->layout_source);
	pcc_slot_vec_free(&py->slot_pool);
	pcc_gc_state_vec_free(&py->gcs);
	free(py);
}

int64_t pcc_python_refcnt(struct pcc_python *py, uint64_t obj)
{
	uint64_t rc;
	if (!pcc_target_read_u64(py->t, obj + (uint64_t)py->off_refcnt, &rc))
		return PCC_REFCNT_UNREADABLE;
	if (py->immortal_refcnt && (int32_t)(uint32_t)rc < 0)
		return PCC_REFCNT_IMMORTAL;
	if (py->traits && py->traits->refcnt_low32)
		rc &= 0xffffffffu;
	/* No live object has so many references: the word is damaged. */
	return (int64_t)rc < 0 ? PCC_REFCNT_UNREADABLE : (int64_t)rc;
}
