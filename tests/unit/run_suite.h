/* SPDX-License-Identifier: MIT */
/* The end of every unit test's main(): run a suite, say how it went. */
#ifndef PCC_RUN_SUITE_H
#define PCC_RUN_SUITE_H

#include <check.h>
#include <stdlib.h>

/* The number of failed tests of s (which it frees). */
static inline int pcc_run_suite_failures(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed;
}

/* main()'s exit status for s. */
static inline int pcc_run_suite(Suite *s)
{
	return pcc_run_suite_failures(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
