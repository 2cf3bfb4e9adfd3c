"""The dispute exporter (kaili.exports): written by the API commit."""
