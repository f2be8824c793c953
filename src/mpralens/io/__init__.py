"""Files in and out: tables, sequences, FASTA, bigWig, downloads, YAML, errors.

Outputs are written all-or-nothing (:mod:`mpralens.io.atomic`); bad input is one
:class:`mpralens.io.errors.InputError`.
"""
