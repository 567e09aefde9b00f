"""Entry point: the pages and the role-based menu are set up here once; then the chosen page runs.

`make run` serves it through s2i_ui/server.py, which adds routes of our own (a bare
`streamlit run Home.py` works too, without them). The pages live in ``app_pages/`` and are listed
in s2i_ui.navigation. (Not in ``pages/``: on a process's first run Streamlit would run a
``pages/`` script directly, without this entry point.)
"""

from s2i_core.errors import S2IError
from s2i_ui import navigation, widgets

page, spec = navigation.navigate()
widgets.setup(spec)
try:
    page.run()
except S2IError as error:  # what the engine explains (a library replaced while it ran, a full disk)
    widgets.show_error(error)
except Exception as error:  # st.stop, st.rerun and page switches are not Exceptions: they pass
    widgets.page_failed(spec, error)
