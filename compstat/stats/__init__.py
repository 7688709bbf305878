"""Pure statistics: arrays and data frames in, arrays and data frames out.

Nothing here touches the database, the file system or a web framework; every random
step takes an explicit seed, so each result can be reproduced exactly.
"""
