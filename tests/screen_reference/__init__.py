"""Screening as it was before issue 15's speed work (integ at eb1e9a7), frozen as the
reference the fast path is checked against, row for row (`test_fast_path_is_the_reference`).

A deliberately unchanged copy (transparency-dev/merkle keeps such a reference beside its fast
tree): `ftigate.screen.{address,record,run}` as they were, with only their imports of each
other pointed here. Do not improve it; if the law changes what screening decides, change
both and say so in the commit.
"""
