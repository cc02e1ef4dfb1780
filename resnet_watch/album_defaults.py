"""The built-in album set as paste-ready YAML: the one copy of the default albums.

It is curated data (each album a list of WordNet synsets), edited and reviewed apart from the
scoring code; users paste it into config.yaml, and ``albums.DEFAULT_ALBUMS`` is parsed from it.
"""

from __future__ import annotations

__all__ = ["DEFAULT_ALBUMS_YAML"]

# The default album set, pasted into config.yaml as is. Every name is a canonical WordNet 3.0
# synset name; tests check each resolves and that each album catches the classes it promises.
DEFAULT_ALBUMS_YAML = """\
# Smart albums. Each album collects the ImageNet classes under any of its WordNet synsets
# (any_of), minus those under none_of. Names are WordNet 3.0 synsets ("dog.n.01": look them up
# with `wn dog -over` from the wordnet package) or ImageNet class names ("golden retriever").
# An image joins an album when the summed score of its top labels under the album reaches
# min_score. group is the parent folder in the tag path: resnet-watch|Pets|Dogs|beagle.
albums:
  # --- People: ImageNet has almost no "person" class, so people show up as what they wear,
  # play and hold. These albums are heuristics; raise min_score if they catch too much.
  People & fashion:
    group: People
    any_of: [person.n.01, clothing.n.01, footwear.n.02, jewelry.n.01, toiletry.n.01,
             spectacles.n.01, sunglass.n.01, cloak.n.01, ski_mask.n.01, hair_slide.n.01,
             purse.n.03, backpack.n.01, wallet.n.01]
    none_of: [diaper.n.01]
    min_score: 0.35
  Sports:
    group: People
    any_of: [athlete.n.01, sports_equipment.n.01, ball.n.01, sports_implement.n.01, ski.n.01,
             football_helmet.n.01, punching_bag.n.02, puck.n.02, scoreboard.n.01, sled.n.01]
    min_score: 0.3
  Babies & kids:
    group: People
    any_of: [baby_bed.n.01, diaper.n.01, bib.n.01, nipple.n.02, plaything.n.01, toyshop.n.01,
             carousel.n.02, swing.n.02]
    min_score: 0.3
  Music:
    group: People
    any_of: [musical_instrument.n.01, stage.n.03]
    min_score: 0.3
  # --- Pets
  Dogs:
    group: Pets
    any_of: [dog.n.01]
    min_score: 0.3
  Cats:
    group: Pets
    any_of: [domestic_cat.n.01]
    min_score: 0.3
  # --- Animals
  Mammals:
    group: Animals
    any_of: [mammal.n.01]
    none_of: [dog.n.01, domestic_cat.n.01]
    min_score: 0.3
  Birds:
    group: Animals
    any_of: [bird.n.01]
    min_score: 0.3
  Sea life:
    group: Animals
    any_of: [fish.n.01, aquatic_mammal.n.01, coelenterate.n.01, echinoderm.n.01,
             crustacean.n.01, mollusk.n.01]
    min_score: 0.3
  Reptiles & amphibians:
    group: Animals
    any_of: [reptile.n.01, amphibian.n.03]
    min_score: 0.3
  Insects & spiders:
    group: Animals
    any_of: [insect.n.01, arachnid.n.01, centipede.n.01]
    min_score: 0.3
  # --- Food
  Food:
    group: Food
    any_of: [food.n.01, food.n.02]
    none_of: [beverage.n.01, feed.n.01, menu.n.02]
    min_score: 0.3
  Drinks:
    group: Food
    any_of: [beverage.n.01, beer_bottle.n.01, wine_bottle.n.01, pop_bottle.n.01,
             beer_glass.n.01, goblet.n.01, coffee_mug.n.01, cocktail_shaker.n.01,
             water_bottle.n.01, jug.n.01, pitcher.n.02, espresso_maker.n.01]
    min_score: 0.3
  Kitchen:
    group: Food
    any_of: [kitchen_utensil.n.01, kitchen_appliance.n.01, tableware.n.01, plate_rack.n.01,
             ladle.n.01, measuring_cup.n.01, saltshaker.n.01, strainer.n.01, tray.n.01]
    min_score: 0.35
  # --- Nature
  Mountains:
    group: Nature
    any_of: [mountain.n.01, alp.n.01, valley.n.01, cliff.n.01]
    min_score: 0.2
  Beach & water:
    group: Nature
    any_of: [shore.n.01, sandbar.n.01, coral_reef.n.01, geyser.n.01, promontory.n.01,
             breakwater.n.01, dam.n.01, dock.n.05, boathouse.n.01]
    min_score: 0.2
  Plants & mushrooms:
    group: Nature
    any_of: [plant.n.02, fungus.n.01, plant_part.n.01, greenhouse.n.01, pot.n.04]
    none_of: [edible_fruit.n.01]
    min_score: 0.3
  # --- Places
  Buildings & landmarks:
    group: Places
    any_of: [building.n.01, bridge.n.01, fortification.n.01, memorial.n.03, column.n.06,
             arch.n.04, tower.n.01, dwelling.n.01, roof.n.01, fountain.n.01, altar.n.02,
             prison.n.01]
    none_of: [home_theater.n.01, restaurant.n.01]
    min_score: 0.3
  City & shops:
    group: Places
    any_of: [mercantile_establishment.n.01, restaurant.n.01, street_sign.n.01,
             traffic_light.n.01, parking_meter.n.01, pay-phone.n.01, turnstile.n.01]
    min_score: 0.3
  Home & interior:
    group: Places
    any_of: [furniture.n.01, home_appliance.n.01, floor_cover.n.01, bedclothes.n.01,
             window_shade.n.01, shower_curtain.n.01, bathtub.n.01, washbasin.n.02,
             home_theater.n.01, fire_screen.n.01, vase.n.01, pillow.n.01, lampshade.n.01,
             radiator.n.03, heater.n.01, window_screen.n.01, sliding_door.n.01, clock.n.01,
             candle.n.01, patio.n.01]
    none_of: [kitchen_appliance.n.01, baby_bed.n.01]
    min_score: 0.35
  # --- Vehicles
  Cars & trucks:
    group: Vehicles
    any_of: [motor_vehicle.n.01, bus.n.01, tractor.n.01, forklift.n.01, tracked_vehicle.n.01,
             recreational_vehicle.n.01, mobile_home.n.01, car_wheel.n.01, car_mirror.n.01,
             grille.n.02, gas_pump.n.01]
    none_of: [motorcycle.n.01]
    min_score: 0.3
  Bikes & motorbikes:
    group: Vehicles
    any_of: [bicycle.n.01, motorcycle.n.01, motor_scooter.n.01, unicycle.n.01, tricycle.n.01]
    min_score: 0.3
  Trains & trams:
    group: Vehicles
    any_of: [train.n.01, locomotive.n.01, streetcar.n.01, passenger_car.n.01,
             freight_car.n.01]
    min_score: 0.3
  Boats & ships:
    group: Vehicles
    any_of: [vessel.n.02, paddle.n.04]
    min_score: 0.3
  Aircraft:
    group: Vehicles
    any_of: [aircraft.n.01, spacecraft.n.01, wing.n.02]
    min_score: 0.3
  # --- Documents & screens: what screenshots, scans and photos of paper get labelled as.
  Documents:
    group: Documents & screens
    any_of: [web_site.n.01, menu.n.02, envelope.n.01, book_jacket.n.01, comic_book.n.01,
             crossword_puzzle.n.01, binder.n.03, packet.n.03]
    min_score: 0.3
  Screens & gadgets:
    group: Documents & screens
    any_of: [computer.n.01, electronic_equipment.n.01, display.n.06, television.n.02,
             keyboard.n.01, mouse.n.04, remote_control.n.01, camera.n.01, projector.n.02,
             loudspeaker.n.01, microphone.n.01, radio.n.03, hard_disc.n.01, photocopier.n.01]
    none_of: [web_site.n.01, slide_rule.n.01]
    min_score: 0.3
"""
