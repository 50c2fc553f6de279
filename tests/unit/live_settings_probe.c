/*
 * Compiled, never run (tests/unit/live_settings_compile.sh): reads setting
 * FIELD from a policy generation. A live one compiles; a restart-only one
 * must not, since struct santad_live_settings has no such field.
 */
#include "santad.h"

const void *live_settings_probe(const struct santad *d);

const void *
live_settings_probe(const struct santad *d)
{
	return &d->policy->cfg.FIELD;
}
