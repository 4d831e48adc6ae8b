"""Writing outputs safely: one folder helper, one single-file helper, one CSV writer.

Every command that writes goes through these (README: "Output folders and files"):
nothing is written through a link, nothing ftigate did not write is replaced or
removed, every file is created 0600 and every folder 0700, and outputs appear all at
once (staged, fsynced, renamed) or not at all.
"""

from ftigate.outputs.durable import (
    DIR_MODE,
    FILE_MODE,
    OutputError,
    create_private_file,
    file_sha256,
    make_private_dirs,
)
from ftigate.outputs.folder import (
    MANIFEST,
    STAGING_MARKER,
    STAGING_PREFIX,
    FileRecord,
    OutputFolder,
    check_output_folder,
    settle_output_folder,
)
from ftigate.outputs.safecsv import (
    csv_bytes,
    neutralise,
    neutralise_cell,
    restore,
    restore_cell,
    rows_csv_text,
    write_csv,
)
from ftigate.outputs.single import (
    PARTIAL_PREFIX,
    OutputFile,
    check_output_file,
    output_file,
    write_output_bytes,
    write_output_text,
)

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "MANIFEST",
    "PARTIAL_PREFIX",
    "STAGING_MARKER",
    "STAGING_PREFIX",
    "FileRecord",
    "OutputError",
    "OutputFile",
    "OutputFolder",
    "check_output_file",
    "check_output_folder",
    "create_private_file",
    "csv_bytes",
    "file_sha256",
    "make_private_dirs",
    "neutralise",
    "neutralise_cell",
    "output_file",
    "restore",
    "restore_cell",
    "rows_csv_text",
    "settle_output_folder",
    "write_csv",
    "write_output_bytes",
    "write_output_text",
]
