"""Internal. The bottom layer: exit classes, errors, the result and record models, timestamps.

Imports nothing else of hybridcore.packer, so loading the data model stays cheap.
"""
