/* SPDX-License-Identifier: MIT */
/*
 * A layout probe: compiled with -g against a CPython version's headers
 * (for builds of which no DWARF exists), it gives DWARF for every struct
 * the headers declare, which tools/layout-dump then reads as it reads an
 * interpreter's.  Structs private to CPython's .c files are not here: the
 * generator takes them from the nearest version that has DWARF.
 */
#define Py_BUILD_CORE 1
#include "Python.h"
#include "internal/pycore_gc.h"
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_code.h"
#include "internal/pycore_moduleobject.h"
#include "internal/pycore_genobject.h"
#include "internal/pycore_list.h"
#include "internal/pycore_tuple.h"
#include "internal/pycore_namespace.h"
#include "frameobject.h"
#include "structmember.h"
PyObject a1; PyVarObject a2; PyGC_Head a3; PyTypeObject a4; PyHeapTypeObject a5; PyMemberDef a6;
_PyRuntimeState a7; PyInterpreterState *a8; struct _is a8b; struct _gc_runtime_state a9; struct gc_generation a10;
PyListObject a11; PyTupleObject a12; PyDictObject a13; PyDictKeysObject a14; PyDictKeyEntry a15; PyDictUnicodeEntry a16; PyDictValues *a17;
PySetObject a18; setentry a19; PyASCIIObject a20; PyCompactUnicodeObject a21; PyBytesObject a22;
PyFunctionObject a23; PyMethodObject a24; PyCellObject a25; PyModuleObject a26; PyModuleDef a27; PyWeakReference a28; PyTracebackObject a29;
PyFrameObject a30; struct _frame a30b; PyCodeObject a31; _PyInterpreterFrame a32; PyGenObject a33; PyAsyncGenObject *a34; _PyErr_StackItem a35;
PyBaseExceptionObject a36; PyDescrObject a37; PyCFunctionObject a38; PyCMethodObject a39; PyMethodDef a40; _PyDictViewObject a42;
_PyListIterObject a43; _PyTupleIterObject a44;
PyStopIterationObject a45; PySystemExitObject a46; PyImportErrorObject a47; PyOSErrorObject a48; PyNameErrorObject a49;
PyAttributeErrorObject a50; PySyntaxErrorObject a51; PyUnicodeErrorObject a52; PyBaseExceptionGroupObject a53;
