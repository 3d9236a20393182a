"""Every remote file the paper profile uses: URL, size, sha256, licence, citation, one-line description.

Hashes and sizes are the publishers' files (LAReQA at pinned commits; SQuAD; TFDS's checksum list for XTREME
translate-train). MTOP's zip has no published checksum: its size and hash are recorded at first download
(`download.record_pin`) and the source is reported as unpinned. Models are named in the profiles
(`configs/*.yaml`, with an optional hub `revision`); each run records the commit its model resolved to.
"""

from __future__ import annotations

from dataclasses import dataclass

LAREQA_XQUAD_COMMIT = "9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c"
LAREQA_MLQA_COMMIT = "354d67d1cd066854cdfbf5ad0e6105528976141d"  # MLQA-R was removed upstream later
XSEMPLR_COMMIT = "af03531af8cb6a39504e1044ba1edebef6c76d15"  # psunlpgroup/XSemPLR: its 6-way parallel MTOP subset


@dataclass(frozen=True)
class RemoteFile:
    name: str  # registry key, e.g. "xquad-r/de"
    url: str
    size: int | None  # bytes; None = unpinned
    sha256: str | None
    license: str
    citation: str
    description: str


_CITE_LAREQA = "Roy, Constant, Al-Rfou, Barua, Phillips, Yang. LAReQA: Language-Agnostic Answer Retrieval from a Multilingual Pool. EMNLP 2020."
_CITE_SQUAD = "Rajpurkar, Zhang, Lopyrev, Liang. SQuAD: 100,000+ Questions for Machine Comprehension of Text. EMNLP 2016."
_CITE_XTREME = "Hu, Ruder, Siddhant, Neubig, Firat, Johnson. XTREME: A Massively Multilingual Multi-task Benchmark. ICML 2020."
_CITE_XSEMPLR = "Zhang, Wang, Zhang, Liu, Zhang. XSemPLR: Cross-Lingual Semantic Parsing in Multiple Natural Languages and Meaning Representations. ACL 2023."
_CITE_MTOP = "Li, Arora, Chen, Gupta, Gupta, Mehdad. MTOP: A Comprehensive Multilingual Task-Oriented Semantic Parsing Benchmark. EACL 2021."

_XQUAD_R = {  # (bytes, sha256)
    "ar": (2234875, "c52922d3b8ac1ae03ed5ac38647ad59870dca3dda2beefe18ecdc30729acb69d"),
    "de": (732156, "16fb0f4bf4916154b585a20c24c66074591c9718a1affe764ff4697572328949"),
    "el": (2810127, "163fd43ee785a30eb534ae2061e9eaa766a7ee4e8ffce5e4b422480c150f64b6"),
    "en": (628651, "7b0954f39297c27a31fef610f0883337dd2907fa8699151dc922afdd0fa12ffe"),
    "es": (746335, "f8e836b2d91009c4363e04315f7ede363eedbbb49c67dda60de6c4aa782f58de"),
    "hi": (2408404, "ea45ba8ae4513d1533b222bebdc02a90bc319c055d3aeea68584a053d2e92872"),
    "ru": (2764904, "7f4dff853538b9a5fcc28c070b8bb983a5c5d190ac747b8e005a1ada9cab18f1"),
    "th": (2618544, "c3a041864c3a9fb0b4dd91cfdf99cf36b411b3e704c58a303c97bc6dc786cfe4"),
    "tr": (827827, "f3e8c13002bbce154a4578f535f7533cb70f3da08840e6b62735935baec7bd94"),
    "vi": (1132303, "e35926bf5cc6fc6ecbdfca49467aabeb454f08d152d7818143a906bd31dde995"),
    "zh": (959291, "80c2cde7b9c2fb134c303cbb52f2ba396ead9eb0014aec43993543d2ba9e93ed"),
}
_MLQA_R = {
    "ar": (3329081, "2132fbc03208535c0fe01f2e2c5121d06f9c2aa799af93b0a719dbc105bdf137"),
    "de": (887185, "ce9454dc5aa6f2d85c23cd6e49cb367fbb7c4c6e62d7f71e355c6b5dae4d0886"),
    "en": (2251129, "fedd9a5cc0848dda80caf84aa36f482adaae230526a3f6e9e86926a93ef3b1e4"),
    "es": (819818, "70ecba276b8c96a692b120693a595d076ce94ad21d4b28311538a9fcbfe0f9d7"),
    "hi": (3179023, "4dd0fb3c06f737a5481d705bc1dcac7876712a5815c9265908fbb3a0696cb654"),
    "vi": (1807239, "9d3baff6ba03e6793b25594217265ea59a136b9733833dca8a9582a84a78ff85"),
    "zh": (1360698, "57f01d2fff50cf3392805635b01445339f225ad5bf28ba8443b12f8dbd1e69dc"),
}
_TRANSLATE_TRAIN = {
    "ar": (311935799, "d2d01110aa646b547eec88b14b3930dc027c9d149c4962376a1551e251ec3f9b"),
    "de": (93188862, "3c125cb2a31e8ad167c4590ece8fdfd16018a5bbf9475dbfac034c1816a4ab02"),
    "es": (101758698, "cb8f68b8e4cff696209a5ec249a5dc9e2a75a5c7f9dbbfa8a8be1dcf1f91c81a"),
    "hi": (348849738, "fdfd8c59359943c6a55022403e7dfa047e7ee1dea734086a3c73c1adbb44d254"),
    "ru": (379620057, "075818cce7ca8d6efe2c783b125d91bd79add93ddfe8c2b0f45fb610d7552f48"),
    "th": (341480847, "3ae03fd7a9d51a6f45e74a70b8d6168eb365114fcf5de21f34f212197e085eab"),
    "tr": (111351195, "7c618d3f5e0c19d878686a9874b15a10d6f842ae9451e12d8d7d51531bfe79e6"),
    "zh": (128888478, "411e4023e4f3627ccb4873edfb77b36e97470b4226a076e6a632544c92353d24"),
}

_XSEMPLR_MTOP = {
    "dev": (1047614, "90786d97756b710c07db31610ad0fb60b8a15afee02e49a7db2be91b008c5e63"),
    "test": (1464323, "47d0f025d30abf205589d342ba31a432bb7eafb71dec476582e08ae0157a00c7"),
}


def _build() -> dict[str, RemoteFile]:
    files = {}
    for lang, (size, sha) in _XQUAD_R.items():
        files[f"xquad-r/{lang}"] = RemoteFile(
            f"xquad-r/{lang}",
            f"https://raw.githubusercontent.com/google-research-datasets/lareqa/{LAREQA_XQUAD_COMMIT}/xquad-r/{lang}.json",
            size, sha, "CC BY-SA 4.0", _CITE_LAREQA, f"XQuAD-R {lang}: 240 paragraphs, 1,190 questions, sentence breaks",
        )
    for lang, (size, sha) in _MLQA_R.items():
        files[f"mlqa-r/{lang}"] = RemoteFile(
            f"mlqa-r/{lang}",
            f"https://raw.githubusercontent.com/google-research-datasets/lareqa/{LAREQA_MLQA_COMMIT}/mlqa-r/{lang}.json",
            size, sha, "CC BY-NC 4.0", _CITE_LAREQA, f"MLQA-R {lang}: MLQA test questions with sentence breaks",
        )
    files["squad/train"] = RemoteFile(
        "squad/train", "https://rajpurkar.github.io/SQuAD-explorer/dataset/train-v1.1.json", 30288272,
        "3527663986b8295af4f7fcdff1ba1ff3f72d07d61a20f487cb238a6ef92fd955", "CC BY-SA 4.0", _CITE_SQUAD,
        "SQuAD v1.1 train: 87,599 English questions over Wikipedia paragraphs",
    )
    for lang, (size, sha) in _TRANSLATE_TRAIN.items():
        files[f"translate-train/{lang}"] = RemoteFile(
            f"translate-train/{lang}",
            f"https://storage.googleapis.com/xtreme_translations/SQuAD/translate-train/squad.translate.train.en-{lang}.json",
            size, sha, "CC BY-SA 4.0 (SQuAD); machine translation by XTREME", _CITE_XTREME,
            f"SQuAD v1.1 train machine-translated to {lang} (XTREME translate-train); ids equal SQuAD's",
        )
    files["mtop/zip"] = RemoteFile(
        "mtop/zip", "https://dl.fbaipublicfiles.com/mtop/mtop.zip", None, None, "CC BY-SA 4.0", _CITE_MTOP,
        "MTOP release: mtop/{en,de,es,fr,hi,th}/{train,eval,test}.txt (unpinned: hash recorded at first download)",
    )
    for split, (size, sha) in _XSEMPLR_MTOP.items():
        files[f"mtop-xsemplr/{split}"] = RemoteFile(
            f"mtop-xsemplr/{split}",
            f"https://raw.githubusercontent.com/psunlpgroup/XSemPLR/{XSEMPLR_COMMIT}/dataset/mtop/{split}.json",
            size, sha, "CC BY-SA 4.0 (MTOP data); MIT (XSemPLR code)", f"{_CITE_MTOP} {_CITE_XSEMPLR}",
            f"MTOP {split} subset, 6-way parallel (en de es fr hi th), with parses (XSemPLR's repackaging)",
        )
    return files


FILES = _build()


def files_for(
    train_source: str, eval_datasets: tuple[str, ...], train_languages: tuple[str, ...], mtop_source: str = "release"
) -> list[RemoteFile]:
    """The registry entries a profile needs, in download order.

    Args:
        train_source: the profile's training source; ``squad-translate-train`` needs SQuAD and translate-train,
            ``xquad-r-train`` XQuAD-R.
        eval_datasets: the profile's evaluation datasets.
        train_languages: the profile's training languages (translate-train files for all but en).
        mtop_source: ``release`` (the MTOP zip) or ``xsemplr`` (XSemPLR's parallel subset).
    """
    names = []
    if train_source == "squad-translate-train":
        names.append("squad/train")
        names += [f"translate-train/{lang}" for lang in train_languages if lang != "en"]
    if train_source == "xquad-r-train" or "xquad-r" in eval_datasets:
        names += [f"xquad-r/{lang}" for lang in _XQUAD_R]
    mtop = ["mtop/zip"] if mtop_source == "release" else [f"mtop-xsemplr/{split}" for split in _XSEMPLR_MTOP]
    for dataset in eval_datasets:
        if dataset == "mlqa-r":
            names += [f"mlqa-r/{lang}" for lang in _MLQA_R]
        elif dataset.startswith("mtop") and mtop[0] not in names:
            names += mtop
    unknown = [n for n in names if n not in FILES]
    if unknown:
        raise ValueError(f"no registry entry for {unknown}; known: {sorted(FILES)}")
    return [FILES[n] for n in names]
