"""Circulation rules by patron category and item type (SPEC "Circulation rules")."""
