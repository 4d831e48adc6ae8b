"""Known answers for the ledger, copied as data from
/work/shared/reference/transparency-vectors.md (which took them from
transparency-dev/merkle testonly/constants.go and reference_test.go,
google/certificate-transparency-go merkletree/merkle_verifier_test.go,
transparency-dev/tessera testdata/log/ and C2SP signed-note.md).

Each can be reproduced from a shell, e.g. the root of size 1:
    printf '\\x00' | sha256sum      # 6e340b9c... (leaf hash of the empty leaf)
and the leaf hash of "L123456":
    printf '\\x00L123456' | sha256sum
"""

from __future__ import annotations

# Vector A: the 8-leaf reference tree (leaves numbered from 0).
LEAVES_A: list[bytes] = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]

ROOTS_A: dict[int, str] = {
    0: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

PROOF_HASHES: dict[str, str] = {
    "a": "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "b": "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "c": "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    "d": "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "e": "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "f": "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "g": "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "h": ROOTS_A[4],
    "i": ROOTS_A[1],
    "root2": ROOTS_A[2],
}

# (leaf index, tree size, proof as names of PROOF_HASHES)
INCLUSION_A: list[tuple[int, int, list[str]]] = [
    (0, 8, ["a", "b", "c"]),
    (5, 8, ["d", "e", "h"]),
    (2, 3, ["root2"]),
    (1, 5, ["i", "b", "d"]),
]

# (old size, new size, proof)
CONSISTENCY_A: list[tuple[int, int, list[str]]] = [
    (1, 8, ["a", "b", "c"]),
    (2, 5, ["b", "d"]),
    (6, 8, ["f", "e", "h"]),
    (6, 7, ["f", "g", "h"]),
    (1, 1, []),
]

LEAF_L123456 = "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
NODE_N123_N456 = "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"

# Vector B: leaves "a".."p" (ASCII); roots base64.
LEAVES_B: list[bytes] = [bytes([c]) for c in range(ord("a"), ord("p") + 1)]
ROOTS_B: dict[int, str] = {
    1: "Aippeebat6pa5MPl5F9+l3ESp+Y1k4INvsHsc4ok+Tw=",
    2: "sTeYX/SE+2ANuTEHx3sDZcgNePW0Kd7Q/Zc2HQd5mes=",
    3: "NmQuc8JUCrEh46a/lUWwokmCzYMOsT080Z3jzmwCHsE=",
    8: "pdrGsf8dyhPc+UI9y/G7tNvOfoy/f0wBTPQMbIFxor0=",
    16: "CXGcbYyZRw8qK9HP+Uz71/U/8TjowWFmnIX5psYUAxM=",
}

# Tessera testdata/log: end-to-end signed checkpoint.
_TESSERA_WORDS = (
    "one two three four five six seven eit nain ten ileven twelf threeten fourten fivten"
)
TESSERA_LEAVES: list[bytes] = [w.encode() for w in _TESSERA_WORDS.split(" ")]
TESSERA_VKEY = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"
TESSERA_SKEY = (
    "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg"
)
TESSERA_CHECKPOINT_1 = (
    "example.com/log/testdata\n"
    "1\n"
    "0Nc2CrefWKseHj/mStd+LqC8B+NrX0btIiPt2SmN+ek=\n"
    "\n"
    "\u2014 example.com/log/testdata "
    "M9e0lhr9kuLxGdAtaUrhm84TQffVsLdcy808sN0a3WyniNlfcr9+bywoiIke1YYciCNjJGkCgIlQ8b16jhsmg/SChAM=\n"
)

# C2SP signed-note.md example.
NOTE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
NOTE_TEXT = "This is an example message.\n"
NOTE_SIGNATURE = (
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM="
)
