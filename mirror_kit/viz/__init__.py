"""Plotly figures (`plots`), the Explorer dashboard (`explorer`) and offline HTML reports (`report`); `service.py` is `journal.viz`."""
