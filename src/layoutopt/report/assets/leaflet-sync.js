/* layoutopt: keep two Leaflet maps on the same view (written for layoutopt's review maps,
   in place of the Leaflet.Sync plugin that folium's DualMap links from a CDN). MIT. */
(function () {
  L.Map.include({
    sync: function (other) {
      var self = this;
      this._layoutoptSynced = (this._layoutoptSynced || []).concat([other]);
      if (this._layoutoptSyncBound) { return this; }
      this._layoutoptSyncBound = true;
      this.on('move zoomend', function () {
        if (self._layoutoptSyncing) { return; }
        self._layoutoptSynced.forEach(function (map) {
          map._layoutoptSyncing = true;
          map.setView(self.getCenter(), self.getZoom(), {animate: false});
          map._layoutoptSyncing = false;
        });
      });
      return this;
    }
  });
})();
