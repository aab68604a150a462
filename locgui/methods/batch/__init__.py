"""Batch localization and evaluation: work items (map, method, preset, query) run by one
process, local worker processes or Ray actors; results stream into a resumable JSONL store
and are summarized per (map, method, preset) with plots. See docs/scale.md."""
