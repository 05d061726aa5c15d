"""Importers: DMN models and GoRules JDM graphs converted to pack YAML, and the conformance runs.

They sit beside the compiler, not inside it: they write packs that ``rules`` compiles and
``engine`` runs, and nothing in ``rules`` or ``engine`` imports them.
"""
