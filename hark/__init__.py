"""Hark's foundation: records, errors, brand and owned accounts, secrets, paths, handle and phrase matching.

It imports no stage; every other package may import it.
"""
