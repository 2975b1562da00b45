"""Reading inputs: bigWig tracks, GTFs, expression tables, samplesheets and DeepChrome CSVs become a
:class:`~chromepredict.io.features.FeatureSet` with its provenance. Never imports models or results."""
